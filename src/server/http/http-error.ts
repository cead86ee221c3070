/**
 * @module The typed HTTP error the request stages throw, and the one place a failed request becomes a
 * response: its status, its headers (WWW-Authenticate, Retry-After, Allow, Connection) and a JSON-RPC
 * error body, or an `isError` tool result where the failure belongs to the one tool call asked for.
 */
import type { ServerResponse } from 'node:http';
import { ErrorCode, hasCode, renderError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { toolErrorResponse } from './jsonrpc.js';

/** JSON-RPC error codes the HTTP layer answers with (the SDK's transport uses the same). */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  /** Implementation-defined server error: refused, limited, shutting down. */
  serverError: -32000,
  /** A missing or refused bearer token. */
  unauthorized: -32001,
  /** An unknown session id (or another user's), as the SDK's transport answers it. */
  sessionNotFound: -32001,
} as const;

export interface HttpErrorOptions {
  /** Response headers, e.g. `www-authenticate`, `retry-after`, `allow`, `connection`. */
  headers?: Record<string, string>;
  /** Code of the JSON-RPC error body; default `RPC.serverError`. */
  rpcCode?: number;
  /**
   * The failure belongs to the tool call: a request that is one tools/call gets it as that call's
   * `isError` result (200), so the client shows the message; any other request gets `status`.
   */
  asToolResult?: boolean;
  cause?: unknown;
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly headers: Record<string, string>;
  readonly rpcCode: number;
  readonly asToolResult: boolean;

  constructor(
    readonly status: number,
    message: string,
    options: HttpErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.headers = options.headers ?? {};
    this.rpcCode = options.rpcCode ?? RPC.serverError;
    this.asToolResult = options.asToolResult ?? false;
  }
}

/** A response to write: JSON when `body` is given, an empty body otherwise. */
export interface HttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export const rpcError = (code: number, message: string) => ({
  jsonrpc: '2.0',
  error: { code, message },
  id: null,
});

/** True for failures nobody planned for: answered 500 without detail, and logged. */
export const isUnexpected = (e: unknown) =>
  !(e instanceof HttpError) && !hasCode(e, ErrorCode.IdpUnavailable);

/**
 * Any failure as an HttpError: an unreachable IdP is 503 (retry later), anything unplanned 500. A
 * QindexError gets here only from bearer-mode token checks, so it is told as to a remote client: the
 * operator's detail goes to `logger` under the reference id the client is shown.
 */
export function toHttpError(e: unknown, logger: Logger): HttpError {
  if (e instanceof HttpError) return e;
  if (hasCode(e, ErrorCode.IdpUnavailable)) {
    return new HttpError(503, renderError(e, { audience: 'remote', logger }).text, { cause: e });
  }
  return new HttpError(500, 'Internal server error', { rpcCode: RPC.internalError, cause: e });
}

/** The response for `error`; `body` is the request's parsed JSON-RPC body, when it was read. */
export function errorAnswer(error: HttpError, body?: unknown): HttpAnswer {
  const result = error.asToolResult ? toolErrorResponse(body, error.message) : undefined;
  if (result) return { status: 200, body: result };
  return { status: error.status, headers: error.headers, body: rpcError(error.rpcCode, error.message) };
}

/** Writes `answer`; a response whose head already went out (a stream) can only be ended. */
export function send(res: ServerResponse, answer: HttpAnswer): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const headers = answer.headers ?? {};
  if (answer.body === undefined) {
    res.writeHead(answer.status, headers).end();
    return;
  }
  res.writeHead(answer.status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(answer.body));
}

/** The one place a failed request is answered: unplanned failures are logged (message only) here. */
export function sendError(
  res: ServerResponse,
  e: unknown,
  context: { logger: Logger; body?: unknown },
): void {
  if (isUnexpected(e)) {
    context.logger.error({ err: e instanceof Error ? e.message : String(e) }, 'HTTP request failed');
  }
  send(res, errorAnswer(toHttpError(e, context.logger), context.body));
}
