/**
 * @module The connector as an OIDC client of the enterprise IdP (config.idp): the authorization URL
 * (code + PKCE S256 + nonce + state, with the client registered with AWS), the callback's code exchange
 * with the ID token checked (aud = idp.clientId, nonce), and the refresh grant whose rotated refresh token
 * is handed to `onRotated` the moment the IdP answers. Built on src/auth (one discovery, one ID token check).
 */
import * as client from 'openid-client';
import type { IdpConfig } from '../../config/schema.js';
import { ErrorCode, QindexError } from '../../errors.js';
import { createOidc, oidcError, type Oidc } from '../../auth/oidc.js';
import { refreshGrant, type RotatedToken } from '../../auth/refresh.js';
import { toTokenSet, type TokenSet } from '../../auth/tokens.js';

/** What the callback needs to finish a sign-in; kept server-side, never in the browser. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
}

export interface Upstream {
  issuer: string;
  clientId: string;
  /** `<issuer>/oauth/callback`: what the operator registers at the IdP. */
  redirectUri: string;
  start(): Promise<{ url: string; pending: PendingSignIn }>;
  /** Exchanges the code of the callback URL (as received) for validated tokens, a refresh token required. */
  finish(callbackUrl: URL, pending: PendingSignIn): Promise<TokenSet>;
  /** A refresh grant; the rotated refresh token goes to `onRotated` before anything else is checked. */
  refresh(refreshToken: string, onRotated: (rotated: RotatedToken) => Promise<void>): Promise<TokenSet>;
}

export const CALLBACK_PATH = '/oauth/callback';

export function createUpstream(idp: IdpConfig, issuer: string): Upstream {
  const oidc: Oidc = createOidc(idp);
  const redirectUri = `${issuer.replace(/\/$/, '')}${CALLBACK_PATH}`;
  const ctx = { issuer: idp.issuer, clientId: idp.clientId };
  return {
    issuer: idp.issuer,
    clientId: idp.clientId,
    redirectUri,
    async start() {
      const configuration = await oidc.configuration();
      const pending = {
        state: client.randomState(),
        nonce: client.randomNonce(),
        verifier: client.randomPKCECodeVerifier(),
      };
      const url = client.buildAuthorizationUrl(configuration, {
        redirect_uri: redirectUri,
        scope: idp.scopes.join(' '),
        code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
        // OpenID Connect grants offline_access (the refresh token) only with explicit consent.
        ...(idp.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
      });
      return { url: url.href, pending };
    },
    async finish(callbackUrl, pending) {
      const configuration = await oidc.configuration();
      const url = configuration.serverMetadata().token_endpoint ?? idp.issuer;
      try {
        const response = await client.authorizationCodeGrant(configuration, callbackUrl, {
          pkceCodeVerifier: pending.verifier,
          expectedState: pending.state,
          expectedNonce: pending.nonce,
          idTokenExpected: true,
        });
        return await toTokenSet(oidc, response, { nonce: pending.nonce, requireRefreshToken: true });
      } catch (e) {
        if (e instanceof client.AuthorizationResponseError) {
          throw new QindexError(
            e.error === 'access_denied' ? ErrorCode.LoginDenied : ErrorCode.IdpError,
            `The IdP at ${idp.issuer} ended the sign-in with an error (${e.error}).`,
            { cause: e },
          );
        }
        throw oidcError(e, { ...ctx, action: 'token', url });
      }
    },
    refresh(refreshToken, onRotated) {
      return refreshGrant(oidc, refreshToken, 'connector', { onRotated });
    },
  };
}
