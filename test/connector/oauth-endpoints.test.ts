/**
 * @module The connector's authorization server over real HTTP (issue 13), before any sign-in: discovery
 * (RFC 8414 / 9728), dynamic registration per policy, the authorization request's refusals (redirect URI,
 * PKCE, resource) and its hand-off to the upstream IdP, and malformed requests answered in the OAuth error
 * shape while the server keeps serving.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMcpServer } from '../../src/server/mcp.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http/app.js';
import { configFor, type ConfigOverrides } from '../helpers/config.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
let dir: string;
const servers: HttpServerHandle[] = [];

// stdout is the JSON-RPC channel over stdio: oidc-provider's notices (console.info/log) must never be printed.
const stdout = [vi.spyOn(console, 'info'), vi.spyOn(console, 'log')];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qindex-oauth-'));
  process.env.QINDEX_CONFIG_DIR = dir;
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function start(http: ConfigOverrides['http'] = {}): Promise<{ origin: string; mcp: string }> {
  const d = sandbox().description;
  const config = configFor(d, 'data-accessor', { http: { auth: 'oauth', port: 0, ...http } });
  const server = await startHttpServer(config, {
    logger: createLogger({ level: 'silent' }),
    createServer: createMcpServer,
    baseCredentials: d.modes.dataAccessor.baseCredentials,
  });
  servers.push(server);
  return { origin: new URL(server.url).origin, mcp: server.url };
}

const form = (o: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(o).toString(),
});

async function register(origin: string, body: Record<string, unknown>, token?: string) {
  const res = await fetch(`${origin}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const REDIRECT = 'http://127.0.0.1:7777/callback';
const client = {
  redirect_uris: [REDIRECT],
  client_name: 'Test agent',
  token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
};
const challenge = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

function authorizeUrl(origin: string, mcp: string, params: Record<string, string | undefined>) {
  const url = new URL(`${origin}/oauth/authorize`);
  const all: Record<string, string | undefined> = {
    response_type: 'code',
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-123',
    resource: mcp,
    ...params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

function expectOAuthError(body: unknown, error: string) {
  expect(body).toMatchObject({ error });
  expect(typeof (body as { error_description?: unknown }).error_description).toBe('string');
}

describe('oauth mode: discovery, registration and the authorization request', () => {
  let origin: string;
  let mcp: string;
  let clientId: string;
  beforeAll(async () => {
    ({ origin, mcp } = await start());
    const reg = await register(origin, client);
    expect(reg.status).toBe(201);
    clientId = reg.body.client_id as string;
  });

  it('publishes RFC 8414 and RFC 9728 metadata naming itself, and challenges with 401', async () => {
    const as = (await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(as).toMatchObject({
      issuer: origin,
      authorization_endpoint: `${origin}/oauth/authorize`,
      token_endpoint: `${origin}/oauth/token`,
      registration_endpoint: `${origin}/oauth/register`,
      revocation_endpoint: `${origin}/oauth/revoke`,
      code_challenge_methods_supported: ['S256'],
      client_id_metadata_document_supported: true,
      authorization_response_iss_parameter_supported: true,
    });
    expect(as.token_endpoint_auth_methods_supported).toContain('none');
    const oidc = (await (await fetch(`${origin}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(oidc.issuer).toBe(origin);
    const prm = (await (await fetch(`${origin}/.well-known/oauth-protected-resource/mcp`)).json()) as Record<
      string,
      unknown
    >;
    expect(prm).toMatchObject({ resource: mcp, authorization_servers: [origin] });
    const res = await fetch(mcp, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(
      `resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('hands a good authorization request to the upstream IdP with the registered client, PKCE S256 and a nonce', async () => {
    const first = await fetch(authorizeUrl(origin, mcp, { client_id: clientId }), { redirect: 'manual' });
    expect(first.status).toBe(303);
    const interaction = new URL(first.headers.get('location')!, origin);
    expect(interaction.pathname).toMatch(/^\/oauth\/interaction\/[\w-]+$/);
    const cookies = first.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const second = await fetch(interaction, { redirect: 'manual', headers: { cookie: cookies } });
    expect(second.status).toBe(303);
    const upstream = new URL(second.headers.get('location')!);
    const d = sandbox().description;
    expect(upstream.origin).toBe(new URL(d.issuer).origin);
    expect(upstream.searchParams.get('client_id')).toBe(d.modes.dataAccessor.clientId);
    expect(upstream.searchParams.get('redirect_uri')).toBe(`${origin}/oauth/callback`);
    expect(upstream.searchParams.get('code_challenge_method')).toBe('S256');
    expect(upstream.searchParams.get('nonce')).toBeTruthy();
    expect(upstream.searchParams.get('state')).toBeTruthy();
    // The MCP client's own PKCE challenge and state never travel upstream.
    expect(upstream.searchParams.get('code_challenge')).not.toBe(challenge);
    expect(upstream.searchParams.get('state')).not.toBe('st-123');
  });

  it('takes the registered loopback redirect on another port (RFC 8252), and a custom-scheme client', async () => {
    const res = await fetch(
      authorizeUrl(origin, mcp, { client_id: clientId, redirect_uri: 'http://127.0.0.1:9999/callback' }),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get('location')!, origin).pathname).toMatch(/^\/oauth\/interaction\//);
    const custom = await register(origin, {
      ...client,
      redirect_uris: ['cursor://anysphere.cursor-mcp/oauth/callback'],
    });
    expect(custom.status).toBe(201);
  });

  it('refuses a redirect URI the client did not register, without redirecting', async () => {
    const res = await fetch(
      authorizeUrl(origin, mcp, { client_id: clientId, redirect_uri: 'https://evil.example/cb' }),
      { redirect: 'manual' },
    );
    expect(res.status).toBe(400);
    expectOAuthError(await res.json(), 'invalid_redirect_uri');
  });

  it('refuses a missing or plain PKCE challenge, and another resource, back at the client with iss', async () => {
    for (const [params, error] of [
      [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
      [{ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request'],
      [{ resource: 'https://other.example/mcp' }, 'invalid_target'],
    ] as const) {
      const res = await fetch(authorizeUrl(origin, mcp, { client_id: clientId, ...params }), {
        redirect: 'manual',
      });
      expect(res.status, JSON.stringify(params)).toBe(303);
      const back = new URL(res.headers.get('location')!);
      expect(back.origin + back.pathname).toBe(REDIRECT);
      expect(back.searchParams.get('error')).toBe(error);
      expect(back.searchParams.get('state')).toBe('st-123');
      expect(back.searchParams.get('iss')).toBe(origin);
    }
  });

  it('answers malformed token, revocation and registration requests in the OAuth error shape, and keeps serving', async () => {
    const token = (o: Record<string, string>) => fetch(`${origin}/oauth/token`, form(o));
    let res = await token({ grant_type: 'password', client_id: clientId });
    expect(res.status).toBe(400);
    expectOAuthError(await res.json(), 'unsupported_grant_type');
    res = await token({
      grant_type: 'authorization_code',
      client_id: clientId,
      code: 'garbage',
      code_verifier: 'x'.repeat(43),
      redirect_uri: REDIRECT,
    });
    expect(res.status).toBe(400);
    expectOAuthError(await res.json(), 'invalid_grant');
    res = await token({ grant_type: 'refresh_token', client_id: clientId, refresh_token: 'garbage' });
    expectOAuthError(await res.json(), 'invalid_grant');
    res = await token({ grant_type: 'authorization_code', client_id: 'nobody', code: 'x' });
    expectOAuthError(await res.json(), 'invalid_client');
    res = await fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(res.status).toBe(400);
    expectOAuthError(await res.json(), 'invalid_request');
    res = await fetch(`${origin}/oauth/revoke`, form({ client_id: clientId }));
    expectOAuthError(await res.json(), 'invalid_request');
    const bad = await register(origin, { redirect_uris: 'not a list' });
    expect(bad.status).toBe(400);
    expectOAuthError(bad.body, 'invalid_redirect_uri');
    res = await fetch(`${origin}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[[[',
    });
    expectOAuthError(await res.json(), 'invalid_request');
    res = await fetch(`${origin}/oauth/interaction/nope`);
    expect(res.status).toBe(400);
    res = await fetch(`${origin}/oauth/callback?code=x&state=forged`);
    expect(res.status).toBe(400);
    res = await fetch(`${origin}/oauth/nothing-here`);
    expect(res.status).toBe(404);
    expectOAuthError(await res.json(), 'invalid_request');
    // Still serving.
    expect((await fetch(`${origin}/.well-known/oauth-authorization-server`)).status).toBe(200);
  });
});

describe('oauth mode: dynamic registration policy', () => {
  it('policy "off": no registration endpoint advertised, and registering is refused', async () => {
    const { origin } = await start({ oauth: { registration: { policy: 'off' } } });
    const as = (await (await fetch(`${origin}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(as.registration_endpoint).toBeUndefined();
    const reg = await register(origin, client);
    expect(reg.status).toBe(404);
    expectOAuthError(reg.body, 'invalid_request');
  });

  it('policy "token": registering needs the initial access token', async () => {
    const secret = 'initial-access-token-canary-1234567890';
    const { origin } = await start({
      oauth: { registration: { policy: 'token', initialAccessToken: secret } },
    });
    const without = await register(origin, client);
    expect(without.status).toBe(401);
    expectOAuthError(without.body, 'invalid_token');
    const wrong = await register(origin, client, 'not-the-token');
    expect(wrong.status).toBe(401);
    const right = await register(origin, client, secret);
    expect(right.status).toBe(201);
    expect(typeof right.body.client_id).toBe('string');
  });
});

describe('stdout', () => {
  it('oidc-provider printed no notice on stdout through all of the above', () => {
    const printed = stdout.flatMap((spy) => spy.mock.calls.map((c) => String(c[0])));
    expect(printed.filter((line) => line.includes('oidc-provider'))).toEqual([]);
  });
});
