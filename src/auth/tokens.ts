/**
 * @module What a successful grant gives sign-in: a validated ID token with its claims, and the refresh token
 * (new or rotated) with its metadata. Built from openid-client's token response in one place.
 */
import type * as client from 'openid-client';
import { ErrorCode, QindexError } from '../errors.js';
import { validateIdToken, type IdTokenClaims } from './id-token.js';
import type { Oidc } from './oidc.js';
import type { StoredLogin } from './types.js';

export interface TokenSet {
  idToken: string;
  claims: IdTokenClaims;
  /** Absent when the IdP kept the old refresh token (no rotation). */
  refreshToken?: string;
  /** Refresh token expiry when the IdP says (non-standard `refresh_token_expires_in`). */
  refreshExpiresAt?: string;
  scope?: string;
}

export async function toTokenSet(
  oidc: Oidc,
  response: client.TokenEndpointResponse,
  options: { nonce?: string; requireRefreshToken: boolean },
): Promise<TokenSet> {
  if (!response.id_token) {
    throw new QindexError(ErrorCode.NoIdToken, `The IdP at ${oidc.issuer} returned no ID token.`, {
      remedy: 'Include "openid" in idp.scopes.',
    });
  }
  if (options.requireRefreshToken && !response.refresh_token) {
    throw new QindexError(
      ErrorCode.NoRefreshToken,
      `The IdP at ${oidc.issuer} returned no refresh token, so the login could not be kept.`,
      {
        remedy: 'Include "offline_access" in idp.scopes and allow refresh tokens for this client at the IdP.',
      },
    );
  }
  const claims = await validateIdToken(response.id_token, {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    keys: await oidc.keys(),
    algorithms: await oidc.algorithms(),
    nonce: options.nonce,
  });
  return {
    idToken: response.id_token,
    claims,
    refreshToken: response.refresh_token,
    refreshExpiresAt: refreshExpiry((response as Record<string, unknown>).refresh_token_expires_in),
    scope: response.scope,
  };
}

/** The refresh token's expiry from the non-standard `refresh_token_expires_in` (seconds), if given. */
export function refreshExpiry(expiresIn: unknown): string | undefined {
  const seconds = Number(expiresIn);
  return Number.isFinite(seconds) && seconds > 0
    ? new Date(Date.now() + seconds * 1000).toISOString()
    : undefined;
}

/** The store entry for a fresh login. */
export function loginFromTokens(oidc: Oidc, tokens: TokenSet): StoredLogin {
  if (!tokens.refreshToken) throw new Error('loginFromTokens needs a refresh token');
  return {
    refreshToken: tokens.refreshToken,
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    subject: tokens.claims.sub,
    email: typeof tokens.claims.email === 'string' ? tokens.claims.email : undefined,
    expiresAt: tokens.refreshExpiresAt,
    scope: tokens.scope,
    updatedAt: new Date().toISOString(),
  };
}
