/**
 * @module The IAM Identity Center browser login of data-accessor `auth-code` mode (design.md 2c): the
 * browser goes to IdC's /authorize with PKCE and a loopback redirect URI, through sign-in's own loopback
 * round trip (src/auth/loopback-login.ts: a port in use named, state checked, time limit and abort, a
 * result page). The code that comes back feeds CreateTokenWithIAM's authorization_code grant.
 */
import * as oauth from 'openid-client';
import { loopbackLogin } from '../auth/loopback-login.js';
import type { QindexConfig } from '../config/schema.js';
import { ErrorCode, QindexError } from '../errors.js';
import type { AuthCodeGrant, IdcLogin } from './data-accessor.js';

export interface IdcBrowserLoginOptions {
  /** Opens the URL for the person; default: the system browser (the URL is printed too). */
  openUrl?: (url: string) => Promise<void>;
  /** How long to wait for the browser to come back; default five minutes. */
  timeoutSeconds?: number;
  /** Stops waiting (the server shutting down). */
  signal?: AbortSignal;
  /** Where the instructions go; default stderr (stdout may be a JSON-RPC channel). */
  output?: NodeJS.WritableStream;
}

/** The authorize endpoint: IdC's OIDC service in the IdC region, or aws.endpoint when set. */
export function idcAuthorizeEndpoint(config: QindexConfig, idcRegion: string): string {
  const base = config.aws.endpoint?.replace(/\/$/, '') ?? `https://oidc.${idcRegion}.amazonaws.com`;
  return `${base}/authorize`;
}

export function createIdcBrowserLogin(config: QindexConfig, options: IdcBrowserLoginOptions = {}): IdcLogin {
  const mode = config.mode;
  if (mode.type !== 'data-accessor') throw new Error('the IdC login belongs to data-accessor mode');
  const timeoutSeconds = options.timeoutSeconds ?? 300;

  return (): Promise<AuthCodeGrant> => {
    const codeVerifier = oauth.randomPKCECodeVerifier();
    return loopbackLogin(
      {
        port: config.idp.redirectPort,
        path: config.idp.redirectPath,
        timeoutSeconds,
        signal: options.signal,
        what: 'IAM Identity Center sign-in',
        purpose: 'sign in through IAM Identity Center',
        again: 'Try again',
        timeoutRemedy: `Try again, and finish the login in the browser within ${timeoutSeconds} s.`,
        openUrl: options.openUrl,
        output: options.output,
      },
      {
        authorizationUrl: async (redirectUri, state) => {
          const url = new URL(idcAuthorizeEndpoint(config, mode.idcRegion));
          url.search = new URLSearchParams({
            response_type: 'code',
            client_id: mode.idcApplicationArn,
            redirect_uri: redirectUri,
            state,
            code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
            code_challenge_method: 'S256',
          }).toString();
          return url.href;
        },
        finish: async (callback, { redirectUri }) => {
          const code = callback.searchParams.get('code');
          if (!code || callback.searchParams.has('error')) throw refused(callback.searchParams);
          return { code, codeVerifier, redirectUri };
        },
        signedIn: () => 'Signed in through IAM Identity Center. You can close this tab.',
      },
    );
  };
}

function refused(params: URLSearchParams): QindexError {
  const error = params.get('error') ?? 'no code';
  const description = params.get('error_description');
  return new QindexError(
    ErrorCode.IdcLoginFailed,
    `IAM Identity Center refused the login: ${error}${description ? ` (${description})` : ''}.`,
    {
      remedy: 'Check that you may use this application in IAM Identity Center, then sign in again.',
      details: { error },
    },
  );
}
