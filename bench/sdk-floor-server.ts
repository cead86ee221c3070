/**
 * @module The floor of bench/mcp-stdio.ts: `search_relevant_content` on a bare McpServer over the SDK's
 * serveStdio, with the same input and output schemas, the same SDK call (as alice, on
 * src/q/client.ts's transport settings) and the same text and structured result, but none of our
 * layers (the argument guard, the error wrapper, retries and watchdog, the Q client). What the built
 * server costs above this is ours. Run by `node --import tsx`; the sandbox's description comes in
 * QINDEX_BENCH_SANDBOX.
 */
import { SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { toPassage } from '../src/q/types.js';
import { searchRelevantContent } from '../src/tools/search-relevant-content.js';
import { renderPassages } from '../src/tools/shapes.js';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import { rawClient } from './stdio-server.js';

const d = JSON.parse(process.env.QINDEX_BENCH_SANDBOX ?? '') as SandboxDescription;
const { config, sdk } = await rawClient(d);
const { inputSchema, outputSchema } = searchRelevantContent;

const create = () => {
  const server = new McpServer({ name: 'floor', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool('search_relevant_content', { inputSchema, outputSchema }, async (params) => {
    const out = await sdk.send(
      new SearchRelevantContentCommand({
        applicationId: config.q.applicationId,
        queryText: params.query,
        contentSource: { retriever: { retrieverId: config.q.retrieverId } },
        maxResults: params.maxResults ?? 10,
      }),
    );
    const found = (out.relevantContent ?? []).map(toPassage);
    const passages = found.map((p, i) => ({ n: i + 1, ...p }));
    const text = `Found ${passages.length} passage(s) for "${params.query}".\n\n${renderPassages(found)}`;
    return {
      content: [{ type: 'text' as const, text }],
      structuredContent: { query: params.query, passages },
    };
  });
  return server;
};
const handle = serveStdio(() => create());
process.stdin.once('end', () => {
  handle.close().catch(() => undefined);
  sdk.destroy();
});
