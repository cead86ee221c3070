/**
 * @module Mints ID tokens for a named user without a login flow (control API, tests, benchmarks).
 * Signed with the IdP's own key, so they are indistinguishable from ones the IdP issues.
 */
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { SandboxUser } from '../world.js';
import type { IdpKeys } from './keys.js';
import { userClaims } from './claims.js';

export interface MintOptions {
  audience: string;
  /** Lifetime in seconds; negative makes an already expired token. Default 3600. */
  ttlSeconds?: number;
  nonce?: string;
  /** Overrides or removes (undefined) claims, e.g. to drop the Email principal tag. */
  claims?: Record<string, unknown>;
}

export async function mintIdToken(
  issuer: string,
  keys: IdpKeys,
  user: SandboxUser,
  opts: MintOptions,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const ttl = opts.ttlSeconds ?? 3600;
  const claims: Record<string, unknown> = { ...userClaims(user), ...opts.claims };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  if (opts.nonce) claims.nonce = opts.nonce;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: keys.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setAudience(opts.audience)
    .setIssuedAt(ttl < 0 ? now + ttl - 60 : now)
    .setExpirationTime(now + ttl)
    .setJti(randomUUID())
    .sign(keys.signingKey);
}
