/**
 * @module Host and Origin allow-lists: a web page must not reach the server through DNS rebinding or a
 * cross-site request. The SDK's transport checks only Host; the MCP spec requires Origin too (403).
 */
import type { IncomingMessage } from 'node:http';

export interface OriginPolicy {
  /** Lower-cased `host[:port]` values accepted; undefined accepts any Host. */
  hosts: Set<string> | undefined;
  /** Lower-cased origins (`scheme://host[:port]`) accepted when an Origin header is present. */
  origins: Set<string>;
}

const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

export const isLoopback = (host: string) =>
  host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/**
 * Builds the policy for a server bound to `bindHost:port`. Loopback names of the port are always allowed;
 * with no configured hosts and a non-loopback bind (behind a load balancer) the Host check is off.
 */
export function createOriginPolicy(options: {
  bindHost: string;
  port: number;
  allowedHosts: string[];
  allowedOrigins: string[];
}): OriginPolicy {
  const loopbackHosts = LOOPBACK_NAMES.map((n) => `${n}:${options.port}`);
  const loopbackOrigins = loopbackHosts.map((h) => `http://${h}`);
  const hosts =
    options.allowedHosts.length > 0
      ? new Set([...options.allowedHosts, ...loopbackHosts].map((h) => h.toLowerCase()))
      : isLoopback(options.bindHost)
        ? new Set(loopbackHosts)
        : undefined;
  const origins = new Set([...options.allowedOrigins, ...loopbackOrigins].map(normalizeOrigin));
  return { hosts, origins };
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase();
  } catch {
    return origin.toLowerCase();
  }
}

/** Returns why the request is refused, or undefined when Host and Origin are acceptable. */
export function checkOrigin(req: IncomingMessage, policy: OriginPolicy): string | undefined {
  const host = req.headers.host?.toLowerCase();
  if (policy.hosts && (!host || !policy.hosts.has(host))) return 'Host header not allowed';
  const origin = req.headers.origin;
  if (origin !== undefined && !policy.origins.has(normalizeOrigin(origin))) return 'Origin not allowed';
  return undefined;
}

const CORS_ALLOW_HEADERS =
  'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id';
const CORS_EXPOSE_HEADERS = 'mcp-session-id, mcp-protocol-version, www-authenticate';

/**
 * CORS headers for a request whose Origin passed `checkOrigin`, so browser-based MCP clients on an
 * allowed origin can call the endpoint (and read the session id and the auth challenge).
 */
export function corsHeaders(req: IncomingMessage): Record<string, string> {
  const origin = req.headers.origin;
  if (!origin) return {};
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': CORS_EXPOSE_HEADERS,
    vary: 'Origin',
  };
}

/** The answer to a CORS preflight from an allowed origin. */
export function preflightHeaders(req: IncomingMessage): Record<string, string> {
  return {
    ...corsHeaders(req),
    'access-control-allow-methods': 'GET, POST, DELETE',
    'access-control-allow-headers': CORS_ALLOW_HEADERS,
    'access-control-max-age': '600',
  };
}
