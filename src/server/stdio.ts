/**
 * @module MCP over stdio: serves this process's stdin/stdout in whichever protocol era the client opens
 * with (the SDK's serveStdio decides: `initialize` pins 2025-11-25, a request with the 2026-07-28
 * `_meta` envelope pins 2026-07-28, a `server/discover` probe may still fall back to `initialize`;
 * stdio-eras.ts then takes the pinned connection's ordinary messages past its per-message checks).
 * stdout carries JSON-RPC only: stray console output is sent to stderr, and a line that is not
 * JSON-RPC (or is too long) gets a JSON-RPC error instead of silence, after which the server keeps
 * reading (see stdio-transport.ts).
 */
import type { McpServer } from '@modelcontextprotocol/server';
import type { Logger } from '../log.js';
import type { ProtocolEra } from './mcp.js';
import { serveEras } from './stdio-eras.js';
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

/**
 * Serves stdio until stdin ends or the process is told to stop, with a server from `createServer` for
 * the era the client opened with. It may be called twice (a discarded `server/discover` probe), so it
 * only builds.
 */
export async function serveStdio(
  createServer: (era: ProtocolEra) => McpServer,
  deps: {
    logger: Logger;
    /** Called once, after the first answer is written (background work waits for the handshake). */
    onAnswered?: () => void;
  },
): Promise<void> {
  const { logger, onAnswered } = deps;
  guardStdout();
  warningsToLog(logger);
  const transport = new LineTransport();
  if (onAnswered) {
    const send = transport.send.bind(transport);
    transport.send = (message) => {
      transport.send = send;
      const sent = send(message);
      setImmediate(onAnswered);
      return sent;
    };
  }
  const handle = serveEras(createServer, {
    transport,
    onerror: (error) => {
      // The transport has answered the line already; the log says it happened, never what it held.
      if (error instanceof RejectedLineError) logger.warn({ kind: error.kind }, 'refused a JSON-RPC line');
      // Openings the SDK refused (an unsupported version, say): answered on the wire, noted here.
      else logger.warn({ err: error.message }, 'MCP protocol error');
    },
  });
  const stop = () => {
    handle.close().catch(() => undefined);
  };
  process.stdin.once('end', stop);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  logger.info('MCP server ready on stdio');
  await transport.closed;
}
