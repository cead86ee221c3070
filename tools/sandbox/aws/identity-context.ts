/**
 * @module The IdC identity context: an opaque string the emulator's CreateTokenWithIAM issues and
 * its STS accepts in ProvidedContexts. It encodes the SessionIdentity and an expiry, HMAC-signed
 * with the sandbox's signing key, so tampering and expiry are detectable.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { SessionIdentity } from '../state.js';
import type { SandboxUser } from '../world.js';

const VERSION = 'sbxic1';

interface ContextPayload {
  identity: SessionIdentity;
  /** Seconds since the epoch. */
  exp: number;
}

export type ContextCheck =
  | { ok: true; identity: SessionIdentity; expiresAt: Date }
  | { ok: false; problem: 'malformed' | 'tampered' | 'expired' };

const mac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export function issueIdentityContext(key: Buffer, identity: SessionIdentity, expiresAt: Date): string {
  const payload: ContextPayload = { identity, exp: Math.floor(expiresAt.getTime() / 1000) };
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${VERSION}.${body}.${mac(key, body).toString('base64url')}`;
}

export function readIdentityContext(key: Buffer, context: string, now = new Date()): ContextCheck {
  const parts = context.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return { ok: false, problem: 'malformed' };
  const [, body, sig] = parts as [string, string, string];
  const given = Buffer.from(sig, 'base64url');
  const expected = mac(key, body);
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, problem: 'tampered' };
  let payload: ContextPayload;
  try {
    payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ContextPayload;
  } catch {
    return { ok: false, problem: 'malformed' };
  }
  if (typeof payload.exp !== 'number' || !payload.identity) return { ok: false, problem: 'malformed' };
  if (payload.exp * 1000 <= now.getTime()) return { ok: false, problem: 'expired' };
  return { ok: true, identity: payload.identity, expiresAt: new Date(payload.exp * 1000) };
}

/** A stable IdC user id (UUID-shaped, like IdC's) for a directory user. */
export function idcUserId(user: SandboxUser): string {
  const h = createHash('sha256').update(`idc-user:${user.email.toLowerCase()}`).digest('hex');
  return `9067${h.slice(0, 4)}-${h.slice(4, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 28)}`;
}
