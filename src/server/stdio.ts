/**
 * @module MCP over stdio: connects a server to this process's stdin/stdout. stdout carries JSON-RPC
 * only: stray console output is sent to stderr, and a line that is not JSON-RPC gets a JSON-RPC error
 * (parse error / invalid request) instead of silence, after which the server keeps reading.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log.js';

/** Sends console.log/info/debug (from any dependency) to stderr: stdout belongs to the protocol. */
export function guardStdout(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  // Assignments, not calls: the rule against console output does not apply here.
  Object.assign(console, { log: toStderr, info: toStderr, debug: toStderr });
}

/** Serves `server` on stdio until stdin ends or the process is told to stop. */
export async function serveStdio(server: McpServer, deps: { logger: Logger }): Promise<void> {
  const { logger } = deps;
  guardStdout();
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  await server.connect(transport);

  const protocolOnError = transport.onerror;
  transport.onerror = (error: Error) => {
    protocolOnError?.(error);
    const parse = error instanceof SyntaxError;
    const invalid = error.name === 'ZodError';
    if (!parse && !invalid) return;
    logger.warn({ kind: parse ? 'parse_error' : 'invalid_request' }, 'ignored a malformed JSON-RPC line');
    const reply = {
      jsonrpc: '2.0',
      error: parse
        ? { code: ErrorCode.ParseError, message: 'Parse error: the line is not valid JSON.' }
        : {
            code: ErrorCode.InvalidRequest,
            message: 'Invalid request: the line is JSON but not a JSON-RPC 2.0 message.',
          },
    } as unknown as JSONRPCMessage;
    transport.send(reply).catch(() => undefined);
  };

  const stop = () => {
    server.close().catch(() => undefined);
  };
  process.stdin.once('end', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  logger.info('MCP server ready on stdio');
  await closed;
}
