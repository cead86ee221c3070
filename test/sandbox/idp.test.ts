/**
 * @module The sandbox IdP over real sockets: discovery, auth code + PKCE (scripted and in headless
 * Chromium), device grant, rotating refresh tokens, revocation, JWT access tokens, minted tokens,
 * the idpDown switch, faults and counters.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const issuer = () => sandbox().description.issuer;
const CLIENT = 'qindex-mcp';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

afterEach(async () => {
  await control().reset();
});

interface TokenResponse {
  status: number;
  body: Record<string, string | number | undefined>;
}

async function token(params: Record<string, string>): Promise<TokenResponse> {
  const res = await fetch(`${issuer()}/token`, { method: 'POST', body: new URLSearchParams(params) });
  return { status: res.status, body: (await res.json()) as TokenResponse['body'] };
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authUrl(opts: { redirectUri: string; challenge?: string; resource?: string; state?: string }) {
  const url = new URL(`${issuer()}/auth`);
  url.search = new URLSearchParams({
    client_id: CLIENT,
    response_type: 'code',
    redirect_uri: opts.redirectUri,
    scope: 'openid email profile offline_access',
    prompt: 'consent',
    state: opts.state ?? 'st-1',
    ...(opts.challenge ? { code_challenge: opts.challenge, code_challenge_method: 'S256' } : {}),
    ...(opts.resource ? { resource: opts.resource } : {}),
  }).toString();
  return url.href;
}

/** A fetch that keeps cookies by hand and never follows redirects. */
function browserless() {
  const jar = new Map<string, string>();
  return async (url: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const set of res.headers.getSetCookie()) {
      const [pair, ...attrs] = set.split(';');
      const [name, value] = [pair!.slice(0, pair!.indexOf('=')), pair!.slice(pair!.indexOf('=') + 1)];
      const expired = attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name.trim());
      else jar.set(name.trim(), value);
    }
    return res;
  };
}

/** Follows redirects until one leaves the IdP; returns the HTML of the page where it stopped, or the outside URL. */
async function follow(get: ReturnType<typeof browserless>, start: Response) {
  let res = start;
  while (res.status === 303 || res.status === 302) {
    const next = new URL(res.headers.get('location')!, issuer()).href;
    if (!next.startsWith(issuer())) return { url: next, html: '' };
    res = await get(next);
  }
  return { url: res.url, html: await res.text(), status: res.status };
}

function formAction(html: string) {
  const match = /<form[^>]*action="([^"]+)"/.exec(html);
  return new URL(match![1]!.replace(/&amp;/g, '&'), issuer()).href;
}

/** Scripted login through the real pages; returns the code and state at the loopback redirect. */
async function scriptedLogin(opts: {
  username: string;
  password: string;
  redirectUri: string;
  resource?: string;
}) {
  const { verifier, challenge } = pkce();
  const get = browserless();
  const first = await follow(get, await get(authUrl({ ...opts, challenge })));
  expect(first.html).toContain('name="login"');
  expect(first.html).toContain('name="password"');
  const login = await get(formAction(first.html), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: opts.username, password: opts.password }),
  });
  const after = await follow(get, login);
  return { ...after, verifier, get };
}

describe('discovery', () => {
  it('publishes the endpoints, S256 only, the device grant and an RS256 JWKS', async () => {
    const res = await fetch(`${issuer()}/.well-known/openid-configuration`);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(issuer());
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token', DEVICE_GRANT]),
    );
    expect(doc.device_authorization_endpoint).toBe(`${issuer()}/device/auth`);
    expect(doc.revocation_endpoint).toBe(`${issuer()}/token/revocation`);
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'email', 'offline_access']));
    const jwks = (await (await fetch(String(doc.jwks_uri))).json()) as {
      keys: Array<Record<string, string>>;
    };
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kty: 'RSA', alg: 'RS256', kid: sandbox().keys.kid }),
    ]);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('authorization code + PKCE, scripted', () => {
  it('logs in (after a wrong password) and exchanges the code for ID, access and refresh tokens', async () => {
    const redirectUri = 'http://127.0.0.1:54321/callback';
    const { verifier, challenge } = pkce();
    const get = browserless();
    const page = await follow(get, await get(authUrl({ redirectUri, challenge, state: 'abc' })));
    expect(page.status).toBe(200);
    const wrong = await get(formAction(page.html), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'alice', password: 'not-her-password' }),
    });
    const retry = await wrong.text();
    expect(retry).toContain('Wrong username or password');
    expect(retry).not.toContain('not-her-password');
    const ok = await get(formAction(retry), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ login: 'alice', password: 'alice-pw' }),
    });
    const done = await follow(get, ok);
    const callback = new URL(done.url);
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe('abc');

    const tokens = await token({
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code')!,
      code_verifier: verifier,
      redirect_uri: redirectUri,
      client_id: CLIENT,
    });
    expect(tokens.status).toBe(200);
    expect(tokens.body.refresh_token).toEqual(expect.any(String));
    const claims = decodeJwt(String(tokens.body.id_token));
    expect(claims).toMatchObject({
      iss: issuer(),
      aud: CLIENT,
      sub: subjectOf('alice'),
      email: 'alice@example.com',
      groups: ['engineering', 'all-employees'],
      'https://aws.amazon.com/tags': { principal_tags: { Email: ['alice@example.com'] } },
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    // Without a resource the access token is opaque and good at userinfo.
    const me = await fetch(`${issuer()}/me`, {
      headers: { authorization: `Bearer ${tokens.body.access_token}` },
    });
    expect(await me.json()).toMatchObject({ sub: subjectOf('alice'), email: 'alice@example.com' });
  });

  it('accepts a loopback redirect on any port (localhost too) and refuses a wrong code_verifier', async () => {
    const redirectUri = 'http://localhost:61999/callback';
    const done = await scriptedLogin({ username: 'bob', password: 'bob-pw', redirectUri });
    const code = new URL(done.url).searchParams.get('code')!;
    const bad = await token({
      grant_type: 'authorization_code',
      code,
      code_verifier: pkce().verifier,
      redirect_uri: redirectUri,
      client_id: CLIENT,
    });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('refuses an authorization request without PKCE and a non-loopback redirect', async () => {
    const noPkce = await fetch(authUrl({ redirectUri: 'http://127.0.0.1:5000/callback' }), {
      redirect: 'manual',
    });
    expect(new URL(noPkce.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
    const evil = await fetch(
      authUrl({ redirectUri: 'http://evil.example/callback', challenge: pkce().challenge }),
    );
    expect(evil.status).toBe(400);
    expect(await evil.text()).toContain('redirect_uri');
  });

  it('issues a JWT access token for the requested resource, verifiable with the JWKS', async () => {
    const redirectUri = 'http://127.0.0.1:40000/callback';
    const resource = sandbox().description.mcpResource;
    const done = await scriptedLogin({ username: 'carol', password: 'carol-pw', redirectUri, resource });
    const tokens = await token({
      grant_type: 'authorization_code',
      code: new URL(done.url).searchParams.get('code')!,
      code_verifier: done.verifier,
      redirect_uri: redirectUri,
      client_id: CLIENT,
      resource,
    });
    expect(tokens.status).toBe(200);
    const jwks = createRemoteJWKSet(new URL(`${issuer()}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(String(tokens.body.access_token), jwks, {
      issuer: issuer(),
      audience: resource,
    });
    expect(protectedHeader.typ).toBe('at+jwt');
    expect(payload).toMatchObject({ sub: subjectOf('carol'), client_id: CLIENT, email: 'carol@example.com' });
  });
});

describe('headless Chromium', () => {
  const available = existsSync(CHROMIUM);
  let browser: Browser | undefined;
  let callbackServer: Server | undefined;
  let callbackPort = 0;

  beforeAll(async () => {
    if (!available) return;
    browser = await launchChromium();
    // The "native app" side of the loopback redirect.
    callbackServer = createServer((_req, res) => res.end('<html><body>signed in</body></html>'));
    await new Promise<void>((r) => callbackServer!.listen(0, '127.0.0.1', () => r()));
    callbackPort = (callbackServer.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((r) => (callbackServer ? callbackServer.close(() => r()) : r()));
  });

  it.skipIf(!available)(
    `logs in through the login page and lands on the loopback redirect with a code (needs ${CHROMIUM})`,
    async () => {
      const redirectUri = `http://127.0.0.1:${callbackPort}/callback`;
      const { verifier, challenge } = pkce();
      const page = await browser!.newPage();
      await page.goto(authUrl({ redirectUri, challenge, state: 'chromium' }));
      await page.fill('input[name="login"]', 'dave');
      await page.fill('input[name="password"]', 'wrong');
      await page.click('button[type="submit"]');
      await page.waitForSelector('#error');
      await page.fill('input[name="password"]', 'dave-pw');
      await Promise.all([
        page.waitForURL((u) => u.port === String(callbackPort)),
        page.click('button[type="submit"]'),
      ]);
      const callback = new URL(page.url());
      await page.close();
      expect(callback.searchParams.get('state')).toBe('chromium');
      const tokens = await token({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code')!,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        client_id: CLIENT,
      });
      expect(tokens.status).toBe(200);
      expect(decodeJwt(String(tokens.body.id_token))).toMatchObject({
        sub: subjectOf('dave'),
        email: 'dave@example.com',
      });
    },
  );

  it.skipIf(!available)(
    `completes a device authorization on the user-code page (needs ${CHROMIUM})`,
    async () => {
      const auth = await deviceAuthorization();
      const page = await browser!.newPage();
      await page.goto(String(auth.verification_uri));
      await page.fill('input[name="user_code"]', String(auth.user_code));
      await page.click('#submit');
      await page.click('#confirm');
      await page.fill('input[name="login"]', 'erin');
      await page.fill('input[name="password"]', 'erin-pw');
      await page.click('button[type="submit"]');
      await page.waitForSelector('#success');
      await page.close();
      const tokens = await token({
        grant_type: DEVICE_GRANT,
        device_code: String(auth.device_code),
        client_id: CLIENT,
      });
      expect(tokens.status).toBe(200);
      expect(decodeJwt(String(tokens.body.id_token))).toMatchObject({
        sub: subjectOf('erin'),
        groups: ['contractors'],
      });
      expect(tokens.body.refresh_token).toEqual(expect.any(String));
    },
  );
});

async function deviceAuthorization(clientId = CLIENT) {
  const res = await fetch(`${issuer()}/device/auth`, {
    method: 'POST',
    body: new URLSearchParams({ client_id: clientId, scope: 'openid email profile offline_access' }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, string | number>;
}

describe('device authorization grant', () => {
  it('is pending until the control API approves it, then yields tokens once', async () => {
    const auth = await deviceAuthorization();
    expect(auth).toMatchObject({
      user_code: expect.stringMatching(/^[A-Z]{4}-[A-Z]{4}$/),
      interval: 1,
      expires_in: 600,
    });
    expect(auth.verification_uri_complete).toBe(`${issuer()}/device?user_code=${auth.user_code}`);
    const poll = () =>
      token({ grant_type: DEVICE_GRANT, device_code: String(auth.device_code), client_id: CLIENT });
    expect(await poll()).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });
    await control().approveDevice({ userCode: String(auth.user_code).toLowerCase(), username: 'bob' });
    const tokens = await poll();
    expect(tokens.status).toBe(200);
    expect(decodeJwt(String(tokens.body.id_token))).toMatchObject({
      sub: subjectOf('bob'),
      email: 'bob@example.com',
    });
    expect(await poll()).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it('answers access_denied, expired_token and (under a throttle fault) slow_down', async () => {
    const denied = await deviceAuthorization();
    await control().denyDevice({ userCode: String(denied.user_code) });
    expect(
      await token({ grant_type: DEVICE_GRANT, device_code: String(denied.device_code), client_id: CLIENT }),
    ).toMatchObject({ status: 400, body: { error: 'access_denied' } });

    const expired = await deviceAuthorization();
    await control().expireDevice({ userCode: String(expired.user_code) });
    expect(
      await token({ grant_type: DEVICE_GRANT, device_code: String(expired.device_code), client_id: CLIENT }),
    ).toMatchObject({ status: 400, body: { error: 'expired_token' } });

    const slow = await deviceAuthorization();
    await control().setFault('idp:token', { throttle: 1 });
    const poll = () =>
      token({ grant_type: DEVICE_GRANT, device_code: String(slow.device_code), client_id: CLIENT });
    expect(await poll()).toMatchObject({ status: 400, body: { error: 'slow_down' } });
    expect(await poll()).toMatchObject({ status: 400, body: { error: 'authorization_pending' } });
  });

  it('refuses to approve an unknown or already approved code', async () => {
    await expect(control().approveDevice({ userCode: 'BCDF-GHJK', username: 'alice' })).rejects.toThrow(
      /not_found/,
    );
    const auth = await deviceAuthorization();
    await control().approveDevice({ userCode: String(auth.user_code), username: 'alice' });
    await expect(
      control().approveDevice({ userCode: String(auth.user_code), username: 'bob' }),
    ).rejects.toThrow(/not_found/);
  });
});

describe('refresh tokens', () => {
  const refresh = (refreshToken: string, clientId = CLIENT) =>
    token({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });

  it('rotate: each use returns a new one and a fresh ID token; a used one is refused and kills the chain', async () => {
    const first = await control().mintRefreshToken({ username: 'alice' });
    const a = await refresh(first);
    expect(a.status).toBe(200);
    expect(a.body.refresh_token).not.toBe(first);
    expect(decodeJwt(String(a.body.id_token))).toMatchObject({
      sub: subjectOf('alice'),
      email: 'alice@example.com',
    });
    const b = await refresh(String(a.body.refresh_token));
    expect(b.status).toBe(200);
    expect(await refresh(first)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    // Reuse of a rotated token revokes the whole grant, like a stolen-token response should.
    expect(await refresh(String(b.body.refresh_token))).toMatchObject({
      status: 400,
      body: { error: 'invalid_grant' },
    });
  });

  it('are bound to their client', async () => {
    const rt = await control().mintRefreshToken({ username: 'alice', clientId: 'isv-agent' });
    expect(await refresh(rt)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(rt, 'isv-agent')).status).toBe(200);
  });

  it('die when the user is revoked through the control API', async () => {
    const rt = await control().mintRefreshToken({ username: 'mallory' });
    const other = await control().mintRefreshToken({ username: 'dave' });
    expect(await control().revokeUser('mallory')).toBe(1);
    expect(await refresh(rt)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
    expect((await refresh(other)).status).toBe(200);
  });

  it('die when revoked at the revocation endpoint', async () => {
    const rt = await control().mintRefreshToken({ username: 'bob' });
    const res = await fetch(`${issuer()}/token/revocation`, {
      method: 'POST',
      body: new URLSearchParams({ token: rt, token_type_hint: 'refresh_token', client_id: CLIENT }),
    });
    expect(res.status).toBe(200);
    expect(await refresh(rt)).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });
});

describe('minted tokens', () => {
  it('a minted ID token verifies against the discovery JWKS', async () => {
    const doc = (await (await fetch(`${issuer()}/.well-known/openid-configuration`)).json()) as {
      jwks_uri: string;
    };
    const idToken = await control().mintIdToken({ username: 'dave' });
    const { payload } = await jwtVerify(idToken, createRemoteJWKSet(new URL(doc.jwks_uri)), {
      issuer: issuer(),
      audience: CLIENT,
    });
    expect(payload).toMatchObject({
      sub: subjectOf('dave'),
      email: 'dave@example.com',
      groups: ['sales', 'all-employees'],
    });
  });

  it('a minted access token has the resource as audience (default the MCP resource)', async () => {
    const jwks = createRemoteJWKSet(new URL(`${issuer()}/jwks`));
    const def = await control().mintAccessToken({ username: 'alice' });
    const own = await control().mintAccessToken({ username: 'alice', resource: 'https://other.example/api' });
    const verify = (t: string, audience: string) => jwtVerify(t, jwks, { issuer: issuer(), audience });
    expect((await verify(def, sandbox().description.mcpResource)).payload.sub).toBe(subjectOf('alice'));
    expect((await verify(own, 'https://other.example/api')).payload.sub).toBe(subjectOf('alice'));
    await expect(verify(own, sandbox().description.mcpResource)).rejects.toThrow(/aud/);
  });
});

describe('switches, faults and counters', () => {
  it('idpDown answers 503 to everything until switched back', async () => {
    await control().setSwitches({ idpDown: true });
    const discovery = await fetch(`${issuer()}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(503);
    const rt = await control().mintRefreshToken({ username: 'alice' });
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: CLIENT })).status).toBe(
      503,
    );
    expect((await control().counters())['idp:token']).toBe(1);
    await control().setSwitches({ idpDown: false });
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: CLIENT })).status).toBe(
      200,
    );
  });

  it('throttle and serverError faults answer in OAuth error shape, and counters count every call', async () => {
    const rt = await control().mintRefreshToken({ username: 'alice' });
    await control().setFault('idp:token', { throttle: 1, serverError: 1 });
    const params = { grant_type: 'refresh_token', refresh_token: rt, client_id: CLIENT };
    expect(await token(params)).toMatchObject({ status: 429, body: { error: 'temporarily_unavailable' } });
    expect(await token(params)).toMatchObject({ status: 500, body: { error: 'server_error' } });
    const ok = await token(params);
    expect(ok.status).toBe(200);

    await control().setFault('idp:device', { serverError: 1 });
    const device = await fetch(`${issuer()}/device/auth`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: CLIENT, scope: 'openid' }),
    });
    expect(device.status).toBe(500);
    await control().setFault('idp:revoke', {
      error: { code: 'invalid_request', message: 'nope', status: 400, count: 1 },
    });
    const revoke = await fetch(`${issuer()}/token/revocation`, {
      method: 'POST',
      body: new URLSearchParams({ token: String(ok.body.refresh_token), client_id: CLIENT }),
    });
    expect(revoke.status).toBe(400);
    expect(await revoke.json()).toEqual({ error: 'invalid_request', error_description: 'nope' });

    expect(await control().counters()).toMatchObject({ 'idp:token': 3, 'idp:device': 1, 'idp:revoke': 1 });
  });
});
