/**
 * @module The origin stage: Host and Origin allow-lists, so a web page cannot reach the server through
 * DNS rebinding or a cross-site request (403). The SDK's transport checks only Host; the MCP spec requires
 * Origin too. Loopback names of the server's own port are always accepted (config/loopback.ts decides
 * what is loopback).
 */
import type { IncomingMessage } from 'node:http';
import { isLoopback } from '../../../config/loopback.js';
import { HttpError } from '../http-error.js';

export interface OriginPolicy {
  /** The port the server listens on: loopback names are accepted with this port only. */
  port: number;
  /** Configured Host values, lower-cased `host[:port]`. */
  hosts: Set<string>;
  /** False when bound off loopback with no configured hosts (behind a load balancer): any Host passes. */
  checkHost: boolean;
  /** Configured origins, normalised `scheme://host[:port]`. */
  origins: Set<string>;
}

/** The policy for a server bound to `bindHost:port`. */
export function createOriginPolicy(options: {
  bindHost: string;
  port: number;
  allowedHosts: string[];
  allowedOrigins: string[];
}): OriginPolicy {
  return {
    port: options.port,
    hosts: new Set(options.allowedHosts.map((h) => h.toLowerCase())),
    checkHost: options.allowedHosts.length > 0 || isLoopback(options.bindHost),
    origins: new Set(options.allowedOrigins.map(normalizeOrigin)),
  };
}

function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin.toLowerCase();
  } catch {
    return origin.toLowerCase();
  }
}

// A Host header is `host[:port]` only: no userinfo, path or spaces that a URL parser would reinterpret.
const AUTHORITY = /^(\[[0-9a-f:.]+\]|[^\s:@/\\?#[\]]+)(?::(\d{1,5}))?$/i;

/** True for `host[:port]` naming loopback on `port` (no port means 80). */
export function isLoopbackAuthority(authority: string, port: number): boolean {
  const m = AUTHORITY.exec(authority);
  return !!m && isLoopback(m[1]!) && Number(m[2] ?? 80) === port;
}

function isLoopbackOrigin(origin: string, port: number): boolean {
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && isLoopback(url.hostname) && Number(url.port || 80) === port;
  } catch {
    return false;
  }
}

/** Why the request is refused, or undefined when its Host and Origin are acceptable. */
export function originRefusal(
  req: Pick<IncomingMessage, 'headers'>,
  policy: OriginPolicy,
): string | undefined {
  const host = req.headers.host?.toLowerCase();
  if (policy.checkHost && (!host || !(policy.hosts.has(host) || isLoopbackAuthority(host, policy.port)))) {
    return 'Host header not allowed';
  }
  const origin = req.headers.origin;
  if (
    origin !== undefined &&
    !policy.origins.has(normalizeOrigin(origin)) &&
    !isLoopbackOrigin(origin, policy.port)
  ) {
    return 'Origin not allowed';
  }
  return undefined;
}

/** The stage: passes on, or throws 403 naming which header was refused. */
export function originGuard(policy: OriginPolicy) {
  return (req: Pick<IncomingMessage, 'headers'>): void => {
    const refused = originRefusal(req, policy);
    if (refused) throw new HttpError(403, `Forbidden: ${refused}.`);
  };
}
