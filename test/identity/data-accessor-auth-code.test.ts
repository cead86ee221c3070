/**
 * @module data-accessor mode with the authorization-code grant (design 2c): the IdC /authorize login
 * (PKCE, loopback redirect) driven by a scripted browser, CreateTokenWithIAM authorization_code, the
 * in-memory IdC refresh token for the next exchange, and a fresh login when that refresh fails. The
 * login is sign-in's loopback round trip: a result page in the browser, a port in use named, abortable.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isQindexError, type QindexError } from '../../src/errors.js';
import { createCredentialProvider, createIdcBrowserLogin } from '../../src/identity/index.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { idcUserId } from '../../tools/sandbox/aws/identity-context.js';
import { configFor } from '../helpers/config.js';
import { useSandbox } from '../helpers/sandbox.js';
import { callerArn, countersSince, search, silent } from './harness.js';

const sandbox = useSandbox();

/** A scripted browser: keeps cookies, follows redirects, fills in the IdP's login form as `username`. */
function browserAs(username: string, password = `${username}-pw`) {
  const jar = new Map<string, string>();
  const get = async (url: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const set of res.headers.getSetCookie()) {
      const pair = set.split(';')[0]!;
      const eq = pair.indexOf('=');
      if (pair.slice(eq + 1) === '' || /expires=Thu, 01 Jan 1970/i.test(set))
        jar.delete(pair.slice(0, eq).trim());
      else jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1));
    }
    return res;
  };
  const follow = async (url: string, init?: RequestInit) => {
    let res = await get(url, init);
    let current = url;
    while (res.status >= 300 && res.status < 400) {
      current = new URL(res.headers.get('location')!, current).href;
      res = await get(current);
    }
    return { url: current, html: await res.text() };
  };
  const opened: string[] = [];
  /** The page the browser ended on (the loopback callback's answer). */
  const shown: string[] = [];
  const visits: Promise<unknown>[] = [];
  const visit = async (url: string) => {
    const page = await follow(url);
    const action = /<form[^>]*action="([^"]+)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    if (!action) return void shown.push(page.html); // already signed in at the IdP: redirected all the way back
    const done = await follow(new URL(action, page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: username, password }).toString(),
    });
    shown.push(done.html);
  };
  const openUrl = async (url: string) => {
    opened.push(url);
    visits.push(visit(url).catch(() => undefined));
  };
  /** Waits until the browser has read its last page (the login's outcome may come first). */
  const settled = () => Promise.all(visits);
  return { openUrl, opened, shown, settled };
}

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

function setup(username: string, options: { redirectPort?: number } = {}) {
  const sb = sandbox();
  const config = configFor(sb.description, 'data-accessor', {
    mode: { grant: 'auth-code' },
    ...(options.redirectPort ? { idp: { redirectPort: options.redirectPort } } : {}),
  });
  const browser = browserAs(username);
  const provider = createCredentialProvider(config, {
    logger: silent,
    baseCredentials: { ...sb.description.modes.dataAccessor.baseCredentials },
    freshIdToken: () => Promise.reject(new Error('auth-code mode must not use the IdP refresh grant')),
    idcLogin: createIdcBrowserLogin(config, {
      openUrl: browser.openUrl,
      timeoutSeconds: 10,
      output: quiet,
    }),
  });
  return { sb, config, provider, browser, control: controlClient(sb.description.control) };
}

describe('data-accessor (auth-code)', () => {
  it('IdC login with PKCE → CreateTokenWithIAM authorization_code → AssumeRole with context → Q', async () => {
    const { config, provider, browser, control } = setup('alice');
    const before = await control.counters();
    const creds = await provider();
    expect(await callerArn(config, creds)).toContain('assumed-role/IsvDataAccessorRole/');
    await expect(search(config, creds, 'policy')).resolves.toBeDefined();
    const authorizeUrl = new URL(browser.opened[0]!);
    expect(authorizeUrl.pathname).toBe('/authorize');
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('client_id')).toBe(
      config.mode.type === 'data-accessor' && config.mode.idcApplicationArn,
    );
    expect(authorizeUrl.searchParams.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(await countersSince(control, before)).toMatchObject({
      'idc:authorize': 1,
      'sso-oauth:CreateTokenWithIAM': 1,
      'sts:AssumeRole': 2,
    });
    // IdC's idToken names the user by IdC user id only (the SDK's documented claim set has no email).
    await browser.settled();
    expect(browser.shown[0]).toContain('<h1>Signed in</h1>'); // the result page, as sign-in's own
    const alice = sandbox().world.users.find((u) => u.username === 'alice')!;
    expect(provider.identity()).toMatchObject({ mode: 'data-accessor', subject: idcUserId(alice) });
    expect(provider.identity()?.email).toBeUndefined();
  });

  it('the next exchange uses the IdC refresh token; when it fails, the user is asked to log in again', async () => {
    const { provider, browser, control } = setup('bob');
    await provider();
    provider.invalidate();
    let before = await control.counters();
    await provider();
    let delta = await countersSince(control, before);
    expect(delta['idc:authorize'] ?? 0).toBe(0);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(1);
    expect(browser.opened).toHaveLength(1);

    await control.setFault('sso-oauth:CreateTokenWithIAM', {
      error: {
        code: 'InvalidGrantException',
        message: 'The refresh token is invalid, expired or revoked.',
        status: 400,
        count: 1,
      },
    });
    provider.invalidate();
    before = await control.counters();
    const creds = await provider();
    expect(creds.sessionToken).toBeTruthy();
    delta = await countersSince(control, before);
    expect(delta['idc:authorize']).toBe(1);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(2);
    expect(browser.opened).toHaveLength(2);
  });

  it('when the IdC refresh grant brings no identity context (the other possible AWS answer), it logs in again', async () => {
    const { provider, browser, control } = setup('carol');
    await provider();
    await control.setSwitches({ refreshGrantIdentityContext: false });
    try {
      provider.invalidate();
      const before = await control.counters();
      const creds = await provider();
      expect(creds.sessionToken).toBeTruthy();
      const delta = await countersSince(control, before);
      // The refresh grant answered, without a context; the exchange went on through a new IdC login.
      expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(2);
      expect(delta['idc:authorize']).toBe(1);
      expect(browser.opened).toHaveLength(2);
    } finally {
      await control.setSwitches({ refreshGrantIdentityContext: true });
    }
  });

  it('a login IdC refuses (user not in IdC) is a typed error', async () => {
    const { provider } = setup('mallory');
    const e = (await provider().catch((err: unknown) => err)) as QindexError;
    expect(isQindexError(e)).toBe(true);
    expect(e.code).toBe('idc_login_failed');
    expect(e.message).toContain('No user in the IAM Identity Center directory has this email');
  });

  it('shows the browser why the login failed', async () => {
    const { provider, browser } = setup('mallory');
    await provider().catch(() => undefined);
    await browser.settled();
    expect(browser.shown[0]).toContain('<h1>Sign-in failed</h1>');
    expect(browser.shown[0]).toContain('No user in the IAM Identity Center directory has this email');
  });

  it('names a redirect port that is in use, without offering a device login this mode lacks', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const { provider, browser } = setup('alice', {
        redirectPort: (taken.address() as { port: number }).port,
      });
      const e = (await provider().catch((err: unknown) => err)) as QindexError;
      expect(isQindexError(e) && e.code).toBe('port_in_use');
      expect(e.remedy).toContain('idp.redirectPort');
      expect(e.remedy).not.toContain('--device');
      expect(browser.opened).toHaveLength(0);
    } finally {
      taken.close();
    }
  });

  it('stops waiting for the browser when its signal fires', async () => {
    const stop = new AbortController();
    // A browser that never comes back (the person closed the tab), and the server shutting down.
    const login = createIdcBrowserLogin(
      configFor(sandbox().description, 'data-accessor', { mode: { grant: 'auth-code' } }),
      { openUrl: async () => void stop.abort(), output: quiet, signal: stop.signal },
    );
    const e = (await login().catch((err: unknown) => err)) as QindexError;
    expect(isQindexError(e) && e.code).toBe('cancelled');
  });
});
