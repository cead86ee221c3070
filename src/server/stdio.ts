/**
 * @module MCP over stdio: connects a server to this process's stdin/stdout. stdout carries JSON-RPC
 * only: stray console output is sent to stderr, and a line that is not JSON-RPC (or is too long) gets
 * a JSON-RPC error instead of silence, after which the server keeps reading (see stdio-transport.ts).
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Logger } from '../log.js';
import { LineTransport, RejectedLineError } from './stdio-transport.js';

/** Sends console.log/info/debug (from any dependency) to stderr: stdout belongs to the protocol. */
export function guardStdout(): void {
  const toStderr = (...args: unknown[]) => console.error(...args);
  // Assignments, not calls: the rule against console output does not apply here.
  Object.assign(console, { log: toStderr, info: toStderr, debug: toStderr });
}

/**
 * Node's process warnings (deprecations, the AWS SDK's Node-version notice) as JSON log lines, in place
 * of Node's plain-text printer: whoever reads stderr gets one format.
 */
export function warningsToLog(logger: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (w) => logger.warn({ warning: w.name }, w.message));
}

/** Serves `server` on stdio until stdin ends or the process is told to stop. */
export async function serveStdio(server: McpServer, deps: { logger: Logger }): Promise<void> {
  const { logger } = deps;
  guardStdout();
  warningsToLog(logger);
  const transport = new LineTransport();
  const closed = new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
  });
  await server.connect(transport);

  const protocolOnError = transport.onerror;
  transport.onerror = (error: Error) => {
    protocolOnError?.(error);
    // The transport has answered the line already; the log says it happened, never what it held.
    if (error instanceof RejectedLineError) logger.warn({ kind: error.kind }, 'refused a JSON-RPC line');
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
