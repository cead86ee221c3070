/**
 * @module In-memory records of the emulated IAM Identity Center: browser authorizations in flight,
 * one-time authorization codes, and the refresh tokens CreateTokenWithIAM issued.
 */
import { randomBytes } from 'node:crypto';

/** A browser sent through the IdP by /authorize, waiting for /idc/callback. */
export interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  callerState?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  scopes: string[];
  /** PKCE verifier of the emulator's own request to the IdP. */
  idpVerifier: string;
  expiresAt: number;
}

/** A code /idc/callback handed to the caller's redirect URI. */
export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  scopes: string[];
  email: string;
  expiresAt: number;
}

/** A refresh token CreateTokenWithIAM issued for an IdC user of one application. */
export interface IdcRefreshToken {
  clientId: string;
  email: string;
  scopes: string[];
  expiresAt: number;
}

export interface IdcStore {
  pending: Map<string, PendingAuthorization>;
  codes: Map<string, AuthorizationCode>;
  refreshTokens: Map<string, IdcRefreshToken>;
}

export const createIdcStore = (): IdcStore => ({
  pending: new Map(),
  codes: new Map(),
  refreshTokens: new Map(),
});

export const opaqueToken = (prefix: string, bytes = 32) =>
  `${prefix}${randomBytes(bytes).toString('base64url')}`;

/** Takes a record out if present and unexpired (codes and pending authorizations are one-time). */
export function takeOnce<T extends { expiresAt: number }>(map: Map<string, T>, key: string): T | undefined {
  const value = map.get(key);
  if (!value) return undefined;
  map.delete(key);
  return value.expiresAt > Date.now() ? value : undefined;
}
