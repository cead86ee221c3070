/**
 * @module Signing keys of the sandbox IdP, made at start. oidc-provider signs with them and the
 * control API mints tokens with the same keys, so minted tokens verify against the IdP's JWKS.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';

export interface IdpKeys {
  /** Private JWKs (with `kid`, `alg`, `use`) in the shape oidc-provider's `jwks` option takes. */
  privateJwks: { keys: JWK[] };
  /** The RS256 signing key used for minted tokens. */
  signingKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  kid: string;
}

export async function createIdpKeys(): Promise<IdpKeys> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const kid = `sandbox-rs256-${randomUUID().slice(0, 8)}`;
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  return { privateJwks: { keys: [jwk] }, signingKey: privateKey, kid };
}
