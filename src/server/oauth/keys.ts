/**
 * @module The connector's own signing keys (an ES256 key for access tokens, an RS256 key for what OIDC
 * requires) and cookie keys: generated once, kept sealed in the state store, so every replica signs and
 * verifies with the same ones. The first replica to start creates them under the store's lock.
 */
import { randomBytes } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Kv } from './store.js';

export interface ServerKeys {
  /** Private JWKS for oidc-provider. */
  jwks: { keys: JWK[] };
  /** The public half, for verifying our own access tokens. */
  publicJwks: { keys: JWK[] };
  cookieKeys: string[];
}

const NAME = 'server-keys:v1';
const PRIVATE_FIELDS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

export function publicJwk(jwk: JWK): JWK {
  const copy: Record<string, unknown> = { ...jwk };
  for (const f of PRIVATE_FIELDS) delete copy[f];
  return copy as JWK;
}

async function generate(): Promise<Omit<ServerKeys, 'publicJwks'>> {
  const key = async (alg: 'ES256' | 'RS256') => {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(privateKey);
    return { ...jwk, alg, use: 'sig', kid: randomBytes(12).toString('base64url') };
  };
  return {
    jwks: { keys: [await key('ES256'), await key('RS256')] },
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
}

export async function loadOrCreateKeys(kv: Kv): Promise<ServerKeys> {
  const stored = await kv.withLock(NAME, async () => {
    const text = await kv.get(NAME);
    if (text) return JSON.parse(text) as Omit<ServerKeys, 'publicJwks'>;
    const fresh = await generate();
    await kv.set(NAME, JSON.stringify(fresh));
    return fresh;
  });
  return { ...stored, publicJwks: { keys: stored.jwks.keys.map(publicJwk) } };
}
