/**
 * @module The IAM Identity Center browser login of data-accessor `auth-code` mode (design.md 2c): the
 * browser goes to IdC's /authorize with PKCE and a loopback redirect URI; the code comes back to a
 * one-shot local server. The result feeds CreateTokenWithIAM's authorization_code grant.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oauth from 'openid-client';
import type { QindexConfig } from '../config/schema.js';
import { ErrorCode, QindexError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuthCodeGrant, IdcLogin } from './data-accessor.js';

export interface IdcBrowserLoginOptions {
  logger: Logger;
  /** Opens the URL for the person; default: the system browser (and the URL on stderr). */
  openUrl?: (url: string) => Promise<void>;
  /** How long to wait for the browser to come back; default five minutes. */
  timeoutMs?: number;
}

/** The authorize endpoint: IdC's OIDC service in the IdC region, or aws.endpoint when set. */
export function idcAuthorizeEndpoint(config: QindexConfig, idcRegion: string): string {
  const base = config.aws.endpoint?.replace(/\/$/, '') ?? `https://oidc.${idcRegion}.amazonaws.com`;
  return `${base}/authorize`;
}

export function createIdcBrowserLogin(config: QindexConfig, options: IdcBrowserLoginOptions): IdcLogin {
  const mode = config.mode;
  if (mode.type !== 'data-accessor') throw new Error('the IdC login belongs to data-accessor mode');
  const openUrl = options.openUrl ?? defaultOpen(options.logger);

  return async (): Promise<AuthCodeGrant> => {
    const codeVerifier = oauth.randomPKCECodeVerifier();
    const state = oauth.randomState();
    const path = config.idp.redirectPath;
    let settle: { resolve: (code: string) => void; reject: (e: Error) => void } | undefined;
    const result = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
    // The browser may come back before `openUrl` returns: the outcome is awaited below, not lost.
    result.catch(() => undefined);
    const server = createServer((req, res) => onCallback(req, res, path, state, settle!));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.idp.redirectPort, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as AddressInfo).port;
    const redirectUri = `http://127.0.0.1:${port}${path}`;
    const timer = setTimeout(
      () =>
        settle!.reject(
          new QindexError(ErrorCode.LoginTimeout, 'The IAM Identity Center login did not complete in time.', {
            remedy: 'Run the command again and finish the login in the browser.',
          }),
        ),
      options.timeoutMs ?? 300_000,
    );
    try {
      const url = new URL(idcAuthorizeEndpoint(config, mode.idcRegion));
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: mode.idcApplicationArn,
        redirect_uri: redirectUri,
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }).toString();
      await openUrl(url.toString());
      const code = await result;
      return { code, codeVerifier, redirectUri };
    } finally {
      clearTimeout(timer);
      server.closeAllConnections();
      server.close();
    }
  };
}

function onCallback(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  state: string,
  settle: { resolve: (code: string) => void; reject: (e: Error) => void },
): void {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== path) {
    res.writeHead(404).end();
    return;
  }
  const done = (status: number, text: string) =>
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
  if (url.searchParams.get('state') !== state) {
    done(400, 'This login response does not belong to the login in progress.');
    return;
  }
  const error = url.searchParams.get('error');
  const code = url.searchParams.get('code');
  if (error || !code) {
    done(400, 'The IAM Identity Center login failed. You can close this window.');
    settle.reject(
      new QindexError(
        ErrorCode.IdcLoginFailed,
        `IAM Identity Center refused the login: ${error ?? 'no code'}${url.searchParams.get('error_description') ? ` (${url.searchParams.get('error_description')})` : ''}.`,
        { remedy: 'Check that you may use this application in IAM Identity Center, then sign in again.' },
      ),
    );
    return;
  }
  done(200, 'Signed in through IAM Identity Center. You can close this window.');
  settle.resolve(code);
}

function defaultOpen(logger: Logger): (url: string) => Promise<void> {
  return async (url) => {
    process.stderr.write(`Opening the IAM Identity Center login in your browser:\n  ${url}\n`);
    try {
      const { default: open } = await import('open');
      await open(url);
    } catch (e) {
      logger.warn({ err: (e as Error).message }, 'could not open a browser; open the URL above by hand');
    }
  };
}
