/**
 * @module The CORS stage, after the origin stage: browser-based MCP clients on an allowed origin may call
 * the endpoint and read the session id and the auth challenge; their preflights are answered here (204).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpAnswer } from '../http-error.js';

// mcp-method and mcp-name: the headers every 2026-07-28 POST carries.
const ALLOW_HEADERS =
  'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id';
const EXPOSE_HEADERS = 'mcp-session-id, mcp-protocol-version, www-authenticate';

type Request = Pick<IncomingMessage, 'headers' | 'method'>;

/** CORS headers for a request whose Origin the origin stage accepted; none without an Origin. */
export function corsHeaders(req: Request): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSE_HEADERS,
    vary: 'Origin',
  };
}

/** The answer to a CORS preflight from an allowed origin. */
export function preflightHeaders(req: Request): Record<string, string> {
  return {
    ...corsHeaders(req),
    'access-control-allow-methods': 'GET, POST, DELETE',
    'access-control-allow-headers': ALLOW_HEADERS,
    'access-control-max-age': '600',
  };
}

/**
 * The stage: answers a preflight (returns its answer), or puts the CORS headers on `res`, where every
 * later answer, an error or the MCP transport's, carries them.
 */
export function cors() {
  return (req: Request, res: Pick<ServerResponse, 'setHeader'>): HttpAnswer | undefined => {
    if (req.method === 'OPTIONS') return { status: 204, headers: preflightHeaders(req) };
    for (const [k, v] of Object.entries(corsHeaders(req))) res.setHeader(k, v);
    return undefined;
  };
}
