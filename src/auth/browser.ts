/**
 * @module Authorization code + PKCE (S256) login at the IdP in the user's browser: the authorization URL
 * (nonce, consent for offline_access), a preflight that catches a refused client in the terminal, and the
 * code grant; the loopback round trip itself (state, callback, time limit, result page) is loopback-login.ts.
 */
import * as client from 'openid-client';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError } from '../errors.js';
import { loopbackLogin } from './loopback-login.js';
import { oidcError, type Oidc } from './oidc.js';
import { toTokenSet, type TokenSet } from './tokens.js';

export interface BrowserLoginOptions {
  /** Open the browser (default true); false prints the URL only. */
  open?: boolean;
  /** How to open a URL; default the `open` package (tests drive a headless browser instead). */
  openUrl?: (url: string) => Promise<void>;
  timeoutSeconds?: number;
  signal?: AbortSignal;
  output?: NodeJS.WritableStream;
  redirectPort?: number;
  redirectPath?: string;
  profile?: string;
}

export async function browserLogin(oidc: Oidc, options: BrowserLoginOptions = {}): Promise<TokenSet> {
  const configuration = await oidc.configuration();
  const metadata = configuration.serverMetadata();
  const ctx = { issuer: oidc.issuer, clientId: oidc.clientId, profile: options.profile };
  const verifier = client.randomPKCECodeVerifier();
  const nonce = client.randomNonce();
  return loopbackLogin(
    {
      port: options.redirectPort ?? 0,
      path: options.redirectPath ?? '/callback',
      timeoutSeconds: options.timeoutSeconds ?? 300,
      what: 'browser sign-in',
      purpose: 'sign in',
      again: `Run \`${commandLine('login', { profile: options.profile })}\` again`,
      offerDevice: true,
      signal: options.signal,
      open: options.open,
      openUrl: options.openUrl,
      output: options.output,
    },
    {
      authorizationUrl: async (redirectUri, state) =>
        client.buildAuthorizationUrl(configuration, {
          redirect_uri: redirectUri,
          scope: oidc.scopes.join(' '),
          code_challenge: await client.calculatePKCECodeChallenge(verifier),
          code_challenge_method: 'S256',
          state,
          nonce,
          // OpenID Connect grants offline_access (the refresh token) only with explicit consent.
          ...(oidc.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
        }).href,
      check: (url, redirectUri) => preflight(url, ctx.issuer, ctx.clientId, redirectUri),
      finish: async (returned, { state }) => {
        try {
          const response = await client.authorizationCodeGrant(configuration, returned, {
            pkceCodeVerifier: verifier,
            expectedState: state,
            expectedNonce: nonce,
          });
          return await toTokenSet(oidc, response, { nonce, requireRefreshToken: true });
        } catch (e) {
          throw e instanceof client.AuthorizationResponseError
            ? authorizationError(e, ctx.issuer)
            : oidcError(e, { ...ctx, action: 'token', url: metadata.token_endpoint ?? oidc.issuer });
        }
      },
      signedIn: (tokens) =>
        `qindex-mcp is signed in${tokens.claims.email ? ` as ${tokens.claims.email}` : ''}. You can close this tab.`,
    },
  );
}

/**
 * Asks for the authorization URL once without a browser: an IdP that does not know the client id or the
 * redirect URI answers 4xx here, which would otherwise show up only as an error page in the browser.
 */
async function preflight(url: string, issuer: string, clientId: string, redirectUri: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
    await response.body?.cancel();
  } catch {
    return; // the browser will show whatever is wrong; discovery already proved the IdP reachable
  }
  if (response.status === 400 || response.status === 401) {
    throw new QindexError(
      ErrorCode.WrongClient,
      `The IdP at ${issuer} refused the sign-in request (HTTP ${response.status}) for client id "${clientId}" and redirect URI ${redirectUri}.`,
      {
        remedy:
          'Check idp.clientId, and that the IdP allows this loopback redirect URI (set idp.redirectPort/redirectPath to the registered one).',
      },
    );
  }
}

function authorizationError(e: client.AuthorizationResponseError, issuer: string): QindexError {
  const said = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
  return new QindexError(
    e.error === 'access_denied' ? ErrorCode.LoginDenied : ErrorCode.IdpError,
    `The IdP at ${issuer} ended the sign-in with an error (${said}).`,
    {
      remedy: `Run \`${commandLine('login')}\` again.`,
      cause: e,
    },
  );
}
