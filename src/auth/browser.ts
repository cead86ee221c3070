/**
 * @module Authorization code + PKCE (S256) login in the user's browser: state and nonce, a one-shot loopback
 * callback, the browser opened with `open` (or the URL printed), a page that says how it went, a time limit.
 */
import * as client from 'openid-client';
import openBrowser from 'open';
import { QindexError } from '../errors.js';
import { deadline } from './abort.js';
import { page, startCallbackServer } from './callback-server.js';
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
  const out = options.output ?? process.stderr;
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const callback = await startCallbackServer(options.redirectPort ?? 0, options.redirectPath ?? '/callback');
  const wait = deadline(options.timeoutSeconds ?? 300, options.signal, 'browser sign-in');
  try {
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: callback.redirectUri,
      scope: oidc.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      // OpenID Connect grants offline_access (the refresh token) only with explicit consent.
      ...(oidc.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    }).href;
    await preflight(url, ctx.issuer, ctx.clientId, callback.redirectUri);
    if (options.open === false) {
      out.write(
        `\nOpen this URL in a browser to sign in:\n\n  ${url}\n\nWaiting for the sign-in (Ctrl-C to stop)…\n`,
      );
    } else {
      out.write(
        `\nOpening your browser to sign in. If it does not open, visit:\n\n  ${url}\n\nWaiting for the sign-in (Ctrl-C to stop)…\n`,
      );
      await (options.openUrl ?? defaultOpen)(url).catch(() =>
        out.write('(Could not open a browser: open the URL above yourself.)\n'),
      );
    }

    const { url: returned, respond } = await Promise.race([callback.next, wait.aborted]);
    if (returned.searchParams.get('state') !== state) {
      respond(
        400,
        page(
          'Sign-in failed',
          'This response does not belong to the sign-in that is waiting (state mismatch). Close this tab and run qindex-mcp login again.',
        ),
      );
      throw new QindexError(
        'state_mismatch',
        'The browser came back with a response that does not match this sign-in (wrong "state"); it was refused.',
        {
          remedy: 'Run `qindex-mcp login` again, and finish it in the tab it opens.',
        },
      );
    }
    try {
      const response = await Promise.race([
        client.authorizationCodeGrant(configuration, returned, {
          pkceCodeVerifier: verifier,
          expectedState: state,
          expectedNonce: nonce,
        }),
        wait.aborted,
      ]);
      const tokens = await toTokenSet(oidc, response, { nonce, requireRefreshToken: true });
      respond(
        200,
        page(
          'Signed in',
          `qindex-mcp is signed in${tokens.claims.email ? ` as ${tokens.claims.email}` : ''}. You can close this tab.`,
        ),
      );
      return tokens;
    } catch (e) {
      const error =
        e instanceof client.AuthorizationResponseError
          ? authorizationError(e, ctx.issuer)
          : oidcError(e, { ...ctx, action: 'token', url: metadata.token_endpoint ?? oidc.issuer });
      respond(400, page('Sign-in failed', `${error.message} Return to the terminal for details.`));
      throw error;
    }
  } finally {
    wait.dispose();
    await callback.close();
  }
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
      'wrong_client',
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
    e.error === 'access_denied' ? 'login_denied' : 'authorization_error',
    `The IdP at ${issuer} ended the sign-in with an error (${said}).`,
    {
      remedy: 'Run `qindex-mcp login` again.',
      cause: e,
    },
  );
}

async function defaultOpen(url: string): Promise<void> {
  const child = await openBrowser(url);
  child.on('error', () => undefined);
}
