/**
 * Browser login (authorization code + PKCE) in a real headless Chromium against the sandbox IdP, and its
 * faults: a callback with a wrong state, an IdP error, a port in use, a time limit, a wrong client id.
 * The callback port is closed afterwards in every case.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSignIn, type SignInConfig } from '../../src/auth/index.js';
import { QindexError } from '../../src/errors.js';
import { useSandbox } from '../helpers/sandbox.js';
import { CHROMIUM, launchChromium, signInWithBrowser } from '../helpers/chromium.js';
import { capturedLogger, leaked, signInConfig, tempDir } from './helpers.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const quiet = { write: () => true } as unknown as NodeJS.WritableStream;

async function open(config: SignInConfig = signInConfig(sandbox().description)) {
  const dir = await tempDir();
  const { logger, lines } = capturedLogger();
  return {
    dir,
    lines,
    signIn: openSignIn(config, { logger, env: { QINDEX_CONFIG_DIR: dir } }),
    file: join(dir, 'logins', `${config.profile}.json`),
  };
}

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  return e as QindexError;
};

/** True when nothing accepts connections on the port any more. */
const portClosed = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

const redirectOf = (url: string) => new URL(new URL(url).searchParams.get('redirect_uri')!);

describe.skipIf(!existsSync(CHROMIUM))('browser login in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in through the IdP login page, shows the success page, stores the login and closes the port', async () => {
    const { signIn, file, lines } = await open();
    let authUrl = '';
    let done: Promise<string> = Promise.resolve('');
    const info = await signIn.loginBrowser({
      output: quiet,
      openUrl: async (url) => {
        authUrl = url;
        done = signInWithBrowser(browser, url, 'carol', 'carol-pw').then((page) => page.content());
      },
    });
    const params = new URL(authUrl).searchParams;
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('state')).toBeTruthy();
    expect(params.get('nonce')).toBeTruthy();
    expect(params.get('prompt')).toBe('consent');
    expect(redirectOf(authUrl).hostname).toBe('127.0.0.1');
    expect(redirectOf(authUrl).pathname).toBe('/callback');
    expect(info).toMatchObject({ subject: subjectOf('carol'), email: 'carol@example.com', store: 'file' });
    expect(await done).toContain('qindex-mcp is signed in as carol@example.com');
    const stored = JSON.parse(await readFile(file, 'utf8'));
    expect(stored.subject).toBe(subjectOf('carol'));
    expect(leaked(lines.join(''), [stored.refreshToken])).toBeUndefined();
    expect(await portClosed(Number(redirectOf(authUrl).port))).toBe(true);
  });

  it('refuses a callback with the wrong state: error page, failure, nothing stored, port closed', async () => {
    const { signIn, file } = await open();
    let port = 0;
    let answer: Promise<{ status: number; text: string }> = Promise.resolve({ status: 0, text: '' });
    const e = await failure(
      signIn.loginBrowser({
        output: quiet,
        openUrl: async (url) => {
          const redirect = redirectOf(url);
          port = Number(redirect.port);
          answer = fetch(`${redirect.href}?code=forged&state=not-the-one`).then(async (r) => ({
            status: r.status,
            text: await r.text(),
          }));
        },
      }),
    );
    expect(e.code).toBe('state_mismatch');
    const page = await answer;
    expect(page.status).toBe(400);
    expect(page.text).toContain('state mismatch');
    expect(existsSync(file)).toBe(false);
    expect(await portClosed(port)).toBe(true);
  });

  it('reports an error the IdP sends back (access_denied) with the right state', async () => {
    const { signIn } = await open();
    const e = await failure(
      signIn.loginBrowser({
        output: quiet,
        openUrl: async (url) => {
          const state = new URL(url).searchParams.get('state')!;
          void fetch(
            `${redirectOf(url).href}?error=access_denied&error_description=user+said+no&state=${state}&iss=${encodeURIComponent(sandbox().description.issuer)}`,
          );
        },
      }),
    );
    expect(e.code).toBe('login_denied');
    expect(e.message).toContain('access_denied');
  });

  it('says which port is in use and what to do, when the configured redirect port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { signIn } = await open(signInConfig(sandbox().description, { idp: { redirectPort: port } }));
      const e = await failure(signIn.loginBrowser({ output: quiet, openUrl: async () => undefined }));
      expect(e.code).toBe('port_in_use');
      expect(e.message).toContain(`Port ${port}`);
      expect(e.remedy).toContain('idp.redirectPort');
    } finally {
      blocker.close();
    }
  });

  it('uses a fixed redirect port when configured, and gives up cleanly at the time limit', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const fixed = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const { signIn } = await open(signInConfig(sandbox().description, { idp: { redirectPort: fixed } }));
    let port = 0;
    const e = await failure(
      signIn.loginBrowser({
        output: quiet,
        timeoutSeconds: 1,
        openUrl: async (url) => {
          port = Number(redirectOf(url).port);
        },
      }),
    );
    expect(port).toBe(fixed);
    expect(e.code).toBe('login_timeout');
    expect(await portClosed(fixed)).toBe(true);
  });

  it('names a client id the IdP does not know before sending anyone to the browser', async () => {
    const { signIn } = await open(
      signInConfig(sandbox().description, { idp: { clientId: 'no-such-client' } }),
    );
    let opened = false;
    const e = await failure(
      signIn.loginBrowser({
        output: quiet,
        openUrl: async () => {
          opened = true;
        },
      }),
    );
    expect(e.code).toBe('wrong_client');
    expect(e.message).toContain('"no-such-client"');
    expect(opened).toBe(false);
  });
});
