/**
 * @module Verifies IdP-issued JWTs the way AWS does for trusted token issuers and OIDC providers:
 * OpenID discovery of the issuer, its JWKS (cached), signature, issuer and expiry. The audience
 * check is left to the caller, which reports it with its own error.
 */
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';

export type TokenProblem = 'malformed' | 'unreachable' | 'signature' | 'expired' | 'issuer';

export class TokenRejected extends Error {
  constructor(
    readonly problem: TokenProblem,
    message: string,
  ) {
    super(message);
  }
}

export interface TokenVerifier {
  /** The unverified payload, to pick the trust rule by `iss` before fetching anything. */
  peek(token: string): JWTPayload;
  /** Signature (issuer's JWKS via discovery), `iss` and `exp`; throws TokenRejected. */
  verify(token: string, issuer: string): Promise<JWTPayload>;
}

export function createTokenVerifier(): TokenVerifier {
  const jwks = new Map<string, Promise<ReturnType<typeof createRemoteJWKSet>>>();

  const keySet = (issuer: string) => {
    let entry = jwks.get(issuer);
    if (!entry) {
      entry = discover(issuer);
      jwks.set(issuer, entry);
      // A failed discovery (IdP down) is not cached: the next call tries again.
      entry.catch(() => jwks.delete(issuer));
    }
    return entry;
  };

  return {
    peek(token) {
      try {
        return decodeJwt(token);
      } catch {
        throw new TokenRejected('malformed', 'The token is not a well-formed JWT.');
      }
    },
    async verify(token, issuer) {
      let set: ReturnType<typeof createRemoteJWKSet>;
      try {
        set = await keySet(issuer);
      } catch (err) {
        throw new TokenRejected(
          'unreachable',
          `Could not fetch the issuer's OpenID configuration or keys: ${String(err)}`,
        );
      }
      try {
        const { payload } = await jwtVerify(token, set, { issuer, clockTolerance: 0 });
        return payload;
      } catch (err) {
        throw classify(err);
      }
    },
  };
}

async function discover(issuer: string) {
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(5000),
  });
  if (!res.ok) throw new Error(`discovery answered ${res.status}`);
  const meta = (await res.json()) as { issuer?: string; jwks_uri?: string };
  if (meta.issuer !== issuer || !meta.jwks_uri)
    throw new Error('discovery document does not match the issuer');
  return createRemoteJWKSet(new URL(meta.jwks_uri), { cooldownDuration: 0, cacheMaxAge: 10 * 60_000 });
}

function classify(err: unknown): TokenRejected {
  const code = (err as { code?: string }).code ?? '';
  const claim = (err as { claim?: string }).claim;
  if (code === 'ERR_JWT_EXPIRED') return new TokenRejected('expired', 'The token has expired.');
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'iss') {
    return new TokenRejected('issuer', 'The token issuer does not match.');
  }
  if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' || code === 'ERR_JWKS_NO_MATCHING_KEY') {
    return new TokenRejected('signature', 'The token signature could not be verified with the issuer keys.');
  }
  if (code === 'ERR_JWKS_TIMEOUT' || code === 'ERR_JWKS_INVALID' || code === 'ERR_JOSE_GENERIC') {
    return new TokenRejected('unreachable', "Could not fetch the issuer's keys.");
  }
  if (code.startsWith('ERR_JW')) return new TokenRejected('malformed', `The token is invalid (${code}).`);
  return new TokenRejected('unreachable', "Could not verify the token against the issuer's keys.");
}

/** `aud` as a list (a JWT may carry a string or an array). */
export const audiences = (payload: JWTPayload): string[] =>
  payload.aud === undefined ? [] : Array.isArray(payload.aud) ? payload.aud : [payload.aud];
