/**
 * @module The cold-start baseline of bench/cold-start.ts: a minimal one-tool MCP server on the same SDK
 * and the same stdio entry (serveStdio, both protocol eras) as qindex-mcp, with an `echo` tool.
 * Plain JavaScript run by node directly, so that it loads what a minimal server loads and nothing else.
 */
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import process from 'node:process';
import { z } from 'zod';

const create = () => {
  const server = new McpServer({ name: 'minimal', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'echo',
    { description: 'Echoes its text', inputSchema: z.object({ text: z.string() }) },
    async ({ text }) => ({ content: [{ type: 'text', text }] }),
  );
  return server;
};
const handle = serveStdio(() => create());
process.stdin.once('end', () => handle.close().catch(() => undefined));
