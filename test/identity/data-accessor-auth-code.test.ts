/**
 * @module data-accessor mode with the authorization-code grant (design 2c): the IdC /authorize login
 * (PKCE, loopback redirect) driven by a scripted browser, CreateTokenWithIAM authorization_code, the
 * in-memory IdC refresh token for the next exchange, and a fresh login when that refresh fails.
 */
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
  const openUrl = async (url: string) => {
    opened.push(url);
    const page = await follow(url);
    const action = /<form[^>]*action="([^"]+)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    if (!action) return; // already signed in at the IdP: the redirects went all the way back
    await follow(new URL(action, page.url).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: username, password }).toString(),
    });
  };
  return { openUrl, opened };
}

function setup(username: string) {
  const sb = sandbox();
  const config = configFor(sb.description, 'data-accessor', { mode: { grant: 'auth-code' } });
  const browser = browserAs(username);
  const provider = createCredentialProvider(config, {
    logger: silent,
    baseCredentials: { ...sb.description.modes.dataAccessor.baseCredentials },
    freshIdToken: () => Promise.reject(new Error('auth-code mode must not use the IdP refresh grant')),
    idcLogin: createIdcBrowserLogin(config, { logger: silent, openUrl: browser.openUrl, timeoutMs: 10_000 }),
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
});
