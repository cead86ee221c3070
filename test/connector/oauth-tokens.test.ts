/**
 * @module The connector's token lifecycle over real HTTP (issue 13), signing in at the sandbox's Cognito-like
 * pool with plain fetch (a small cookie jar plays the browser): the code exchange gives a resource-bound JWT
 * (client, user, tenant, grant) and a rotating refresh token; a replayed code, a reused refresh token (its
 * family revoked), another resource, a revoked token are refused with the OAuth error; consent is remembered
 * per user and client; an upstream refresh that fails ends the grant and the next request gets 401.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { connect, search } from '../http/harness.js';
import { sandboxSecrets, startConnector, type ConnectorServer } from './e2e-harness.js';
import { signInByFetch } from './oauth-fetch-browser.js';

const sandbox = useSandbox();
let dir: string;
let connector: ConnectorServer;
let origin: string;
let mcp: string;
let clientId: string;
const REDIRECT = 'http://127.0.0.1:7777/callback';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qindex-oauth-'));
  process.env.QINDEX_CONFIG_DIR = dir;
  connector = await startConnector(sandbox());
  mcp = connector.url;
  origin = new URL(mcp).origin;
  const res = await fetch(`${origin}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      client_name: 'Token test agent',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  clientId = ((await res.json()) as { client_id: string }).client_id;
});
afterAll(async () => {
  await connector?.close();
  rmSync(dir, { recursive: true, force: true });
});

function signIn(username: string, options: { consent?: 'allow' | 'deny'; sawConsent?: string[] } = {}) {
  const user = sandbox().description.users.find((u) => u.username === username)!;
  return signInByFetch({ origin, clientId, redirectUri: REDIRECT, resource: mcp, user, ...options });
}

const token = async (body: Record<string, string>) => {
  const res = await fetch(`${origin}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: clientId, ...body }).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
};
const redeem = (code: string, verifier: string, extra: Record<string, string> = {}) =>
  token({
    grant_type: 'authorization_code',
    code,
    code_verifier: verifier,
    redirect_uri: REDIRECT,
    ...extra,
  });
const mcpStatus = async (accessToken: string) =>
  (
    await fetch(mcp, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    })
  ).status;

describe('connector tokens', () => {
  it('signs in upstream, asks consent naming the client, and issues a resource-bound JWT and a refresh token; the code is single-use', async () => {
    const pages: string[] = [];
    const { params, verifier } = await signIn('alice', { sawConsent: pages });
    expect(params.get('iss')).toBe(origin);
    expect(params.get('state')).toBe('st');
    expect(pages).toHaveLength(1);
    expect(pages[0]).toContain('Token test agent');
    expect(pages[0]).toContain('not verified');
    const code = params.get('code')!;
    const got = await redeem(code, verifier);
    expect(got.status).toBe(200);
    expect(got.body.token_type).toMatch(/bearer/i);
    const claims = decodeJwt(got.body.access_token!);
    const pool = sandbox().description.cognito;
    expect(claims).toMatchObject({ iss: origin, aud: mcp, client_id: clientId });
    expect(typeof claims.gid).toBe('string');
    expect(claims[pool.tenantClaim]).toBeDefined();
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(900);
    expect(got.body.refresh_token).toBeTruthy();
    // Nothing upstream is handed out: not the pool's tokens, not its client secret.
    expect(JSON.stringify(got.body)).not.toContain(pool.clientSecret);
    expect(claims.iss).not.toBe(pool.issuer);

    const { client } = await connect(mcp, got.body.access_token);
    const found = await search(client, 'onboarding');
    expect(found.isError, found.text).toBe(false);
    await client.close();

    // A replayed code is refused, and what it issued is revoked (RFC 6749 §4.1.2).
    const replay = await redeem(code, verifier);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await mcpStatus(got.body.access_token!)).toBe(401);
  });

  it('a code redeemed twice at once is honoured once', async () => {
    const { params, verifier } = await signIn('alice');
    const both = await Promise.all([
      redeem(params.get('code')!, verifier),
      redeem(params.get('code')!, verifier),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 400]);
    expect(both.find((r) => r.status === 400)!.body.error).toBe('invalid_grant');
  });

  it('remembers consent per user and client; another user is asked', async () => {
    const again: string[] = [];
    await signIn('alice', { sawConsent: again });
    expect(again).toHaveLength(0);
    const other: string[] = [];
    await signIn('dave', { sawConsent: other });
    expect(other).toHaveLength(1);
  });

  it('refuses a code for another resource, and a wrong PKCE verifier', async () => {
    let { params, verifier } = await signIn('alice');
    const wrongResource = await redeem(params.get('code')!, verifier, {
      resource: 'https://other.example/mcp',
    });
    expect(wrongResource.status).toBe(400);
    expect(wrongResource.body.error).toBe('invalid_target');
    ({ params, verifier } = await signIn('alice'));
    const wrongVerifier = await redeem(params.get('code')!, 'x'.repeat(43));
    expect(wrongVerifier.body.error).toBe('invalid_grant');
  });

  it('rotates refresh tokens; a reused one is refused and revokes its whole family', async () => {
    const { params, verifier } = await signIn('alice');
    const first = (await redeem(params.get('code')!, verifier)).body;
    const second = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.refresh_token);
    expect(await mcpStatus(second.body.access_token!)).toBe(200);
    const reused = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token! });
    expect(reused.status).toBe(400);
    expect(reused.body.error).toBe('invalid_grant');
    const family = await token({ grant_type: 'refresh_token', refresh_token: second.body.refresh_token! });
    expect(family.body.error).toBe('invalid_grant');
    expect(await mcpStatus(second.body.access_token!)).toBe(401);
  });

  it('revocation (RFC 7009) ends the grant: its access token gets 401', async () => {
    const { params, verifier } = await signIn('alice');
    const got = (await redeem(params.get('code')!, verifier)).body;
    expect(await mcpStatus(got.access_token!)).toBe(200);
    const res = await fetch(`${origin}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        client_id: clientId,
        token: got.refresh_token!,
        token_type_hint: 'refresh_token',
      }).toString(),
    });
    expect(res.status).toBe(200);
    expect(await mcpStatus(got.access_token!)).toBe(401);
    expect((await token({ grant_type: 'refresh_token', refresh_token: got.refresh_token! })).body.error).toBe(
      'invalid_grant',
    );
  });

  it('a refused upstream refresh ends the grant: the tool call fails and the next request gets 401 with a challenge', async () => {
    const { params, verifier } = await signIn('carol');
    const got = (await redeem(params.get('code')!, verifier)).body;
    await controlClient(sandbox().description.control).revokeUser('carol');
    const { client } = await connect(mcp, got.access_token);
    const found = await search(client, 'onboarding');
    expect(found.isError).toBe(true);
    await client.close().catch(() => undefined);
    const res = await fetch(mcp, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${got.access_token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    expect((await token({ grant_type: 'refresh_token', refresh_token: got.refresh_token! })).body.error).toBe(
      'invalid_grant',
    );
  });

  it('consent denied: the client gets access_denied and no code', async () => {
    const { params } = await signIn('bob', { consent: 'deny' });
    expect(params.get('error')).toBe('access_denied');
    expect(params.get('code')).toBeNull();
    expect(params.get('iss')).toBe(origin);
  });

  it('canary: no upstream token, client secret or AWS secret in what the server logged', () => {
    const logs = connector.logs.join('\n');
    expect(logs).toContain('authorization server refused a request');
    for (const secret of sandboxSecrets(sandbox())) expect(logs).not.toContain(secret);
  });
});
