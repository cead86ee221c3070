/**
 * @module ID token checks with jose, on every ID token we receive: signature against the IdP's JWKS with
 * asymmetric algorithms only (so `alg: none` and HS256-signed-with-the-public-key confusion fail), issuer,
 * audience (and `azp` when there are several), expiry, and the nonce when one was sent.
 */
import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ErrorCode, QindexError } from '../errors.js';

export interface IdTokenClaims extends JWTPayload {
  sub: string;
  exp: number;
  email?: string;
  nonce?: string;
}

export interface IdTokenChecks {
  issuer: string;
  clientId: string;
  keys: JWTVerifyGetKey;
  /** Asymmetric algorithms the IdP may use; anything else is refused before any key is looked at. */
  algorithms: string[];
  /** The nonce sent in the authorization request; absent: the token must carry none or it is not checked (refresh). */
  nonce?: string;
  clockToleranceSeconds?: number;
}

export async function validateIdToken(idToken: string, checks: IdTokenChecks): Promise<IdTokenClaims> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, checks.keys, {
      issuer: checks.issuer,
      audience: checks.clientId,
      algorithms: checks.algorithms.filter((a) => a !== 'none' && !a.startsWith('HS')),
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: checks.clockToleranceSeconds ?? 60,
    }));
  } catch (e) {
    throw invalid(checks.issuer, reason(e), e);
  }
  const aud = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if (aud.length > 1 && payload.azp !== checks.clientId) {
    throw invalid(checks.issuer, `several audiences and "azp" is not ${checks.clientId}`);
  }
  if (checks.nonce !== undefined && payload.nonce !== checks.nonce) {
    throw invalid(checks.issuer, 'the nonce does not match this login');
  }
  return payload as IdTokenClaims;
}

function reason(e: unknown): string {
  if (e instanceof errors.JWTExpired) return 'it has expired';
  if (e instanceof errors.JWTClaimValidationFailed) return `claim "${e.claim}" failed: ${e.reason}`;
  if (e instanceof errors.JOSEAlgNotAllowed) return 'its signing algorithm is not allowed';
  if (e instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not match the IdP keys';
  if (e instanceof errors.JWKSNoMatchingKey) return "no key in the IdP's JWKS matches it";
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid)
    return 'it is not a well-formed signed JWT';
  if (e instanceof errors.JWKSTimeout) return "the IdP's JWKS did not load in time";
  if (e instanceof errors.JOSEError) return e.code;
  return e instanceof Error ? e.message : String(e);
}

function invalid(issuer: string, why: string, cause?: unknown): QindexError {
  return new QindexError(ErrorCode.IdTokenInvalid, `The ID token from ${issuer} was rejected: ${why}.`, {
    remedy:
      'Check idp.issuer and idp.clientId; if they are right, the IdP or the network path is misbehaving.',
    cause,
  });
}
