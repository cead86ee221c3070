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
  host === '127.0.0.1' || host === 'localhost' || host === '::1' || host.startsWith('127.');

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
