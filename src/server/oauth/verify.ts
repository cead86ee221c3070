/**
 * @module Verifies the connector's own access tokens at the MCP endpoint: signature with our keys (ES256
 * only), iss = our issuer, aud = http.resource, exp, and the grant behind it still alive (not revoked, its
 * upstream sign-in not ended). Yields bearer.ts's VerifiedToken, named after the upstream user (issuer =
 * the IdP's, subject = the IdP's sub), so bearerAuth, tenants and the user cache work unchanged.
 */
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { ErrorCode, QindexError } from '../../errors.js';
import type { BearerVerifier } from '../http/bearer.js';

export interface AccessTokenVerifierOptions {
  issuer: string;
  resource: string;
  upstreamIssuer: string;
  publicJwks: JSONWebKeySet;
  /** True while the grant exists and holds an upstream sign-in. */
  alive(grantId: string): Promise<boolean>;
}

const invalid = (message: string, cause?: unknown) =>
  new QindexError(ErrorCode.InvalidToken, message, {
    remedy: 'Sign in again through the MCP client (it fetches a new access token from this server).',
    cause,
  });

/** The grant id our access tokens carry (`gid`), read without verification: only after verify() passed. */
export function grantIdOf(accessToken: string): string | undefined {
  try {
    const gid = decodeJwt(accessToken).gid;
    return typeof gid === 'string' ? gid : undefined;
  } catch {
    return undefined;
  }
}

export function createAccessTokenVerifier(o: AccessTokenVerifierOptions): BearerVerifier {
  const keys = createLocalJWKSet(o.publicJwks);
  return async (token) => {
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw invalid('The bearer token is not a JWT.');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: o.issuer,
        audience: o.resource,
        algorithms: ['ES256'],
        requiredClaims: ['exp', 'sub', 'client_id', 'gid'],
        clockTolerance: 30,
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw invalid('The access token has expired.', e);
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'aud')
        throw invalid('The access token was not issued for this server (audience).', e);
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'iss')
        throw invalid('The access token comes from another authorization server.', e);
      throw invalid('The access token does not verify.', e);
    }
    if (!(await o.alive(payload.gid as string))) {
      throw invalid('The sign-in behind this access token has ended or was revoked.');
    }
    return {
      token,
      issuer: o.upstreamIssuer,
      subject: payload.sub!,
      email: typeof payload.email === 'string' ? payload.email : undefined,
      claims: payload,
      expiresAt: payload.exp! * 1000,
    };
  };
}
