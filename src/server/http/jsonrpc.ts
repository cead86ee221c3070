/**
 * @module What the HTTP layer needs to know about a JSON-RPC body before the MCP transport sees it:
 * is it an initialize, does it call a tool (and so need the user's credentials), and how to answer a
 * tool call with an error result when the user's credential exchange failed.
 */
import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';

interface Message {
  jsonrpc?: unknown;
  method?: unknown;
  id?: unknown;
  params?: { _meta?: Record<string, unknown> };
}

const messages = (body: unknown): Message[] =>
  (Array.isArray(body) ? body : [body]).filter((m): m is Message => typeof m === 'object' && m !== null);

export const isInitialize = (body: unknown) => messages(body).some((m) => m.method === 'initialize');

/** Ids of the JSON-RPC requests in the body (messages with a method and an id); notifications and responses have none. */
export const requestIds = (body: unknown): unknown[] =>
  messages(body)
    .filter((m) => typeof m.method === 'string' && m.id !== undefined && m.id !== null)
    .map((m) => m.id);

export const requestCount = (body: unknown) => requestIds(body).length;

/** The first MCP revision without JSON-RPC batches; 2025-03-26 and 2024-11-05 still have them. */
export const BATCHLESS_SINCE = '2025-06-18';

/**
 * Why a batch is refused, or undefined when it may be served: MCP 2025-06-18 removed batching (revisions
 * are dates, so they compare as strings), and a batch that needs more request slots than the user has can
 * never be served, so a 429 would only be retried forever.
 */
export function batchRefusal(
  body: unknown,
  protocolVersion: string | undefined,
  maxPerUser: number,
): string | undefined {
  if (!Array.isArray(body)) return undefined;
  if (protocolVersion && protocolVersion >= BATCHLESS_SINCE) {
    return `JSON-RPC batches are not part of MCP ${protocolVersion} (removed in ${BATCHLESS_SINCE}); send one message per request.`;
  }
  const n = requestCount(body);
  if (n > maxPerUser) {
    return `A batch of ${n} requests exceeds http.limits.maxConcurrentPerUser (${maxPerUser}); send at most ${maxPerUser} requests per batch.`;
  }
  return undefined;
}

/** Tool calls run under the user's AWS credentials; other requests (list, ping, …) need none. */
export const wantsCredentials = (body: unknown) => messages(body).some((m) => m.method === 'tools/call');

/**
 * A JSON-RPC response carrying an `isError` tool result, for a single tools/call request. A 2026-07-28
 * request (its `_meta` names the version) gets the `resultType` its clients require on every result.
 */
export function toolErrorResponse(body: unknown, text: string): unknown {
  if (Array.isArray(body)) return undefined;
  const m = messages(body)[0];
  if (!m || m.method !== 'tools/call' || m.id === undefined) return undefined;
  const modern = typeof m.params?._meta?.[PROTOCOL_VERSION_META_KEY] === 'string';
  const result = { content: [{ type: 'text', text }], isError: true };
  return { jsonrpc: '2.0', id: m.id, result: modern ? { ...result, resultType: 'complete' } : result };
}
