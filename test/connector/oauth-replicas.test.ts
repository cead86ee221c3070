/**
 * @module Two connector replicas sharing one Redis behind one public URL (issue 13): a sign-in whose steps
 * land on either replica completes (keys, cookies, interactions and clients are shared), a user signed in
 * through A is served by B with one identity exchange in total, and the upstream refresh token rotates under
 * the grant's Redis lock: concurrent fresh-ID-token calls on two replicas with a strictly rotating pool all
 * succeed and leave the grant alive.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createTenantResolver } from '../../src/server/http/tenants.js';
import { createConnector, type Connector } from '../../src/server/oauth/index.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { connect, search } from '../http/harness.js';
import { startRedis, type RedisServer } from '../http/redis.js';
import {
  connectorConfig,
  freePort,
  LoadBalancer,
  startConnector,
  type ConnectorServer,
} from './e2e-harness.js';
import { signInByFetch } from './oauth-fetch-browser.js';

const sandbox = useSandbox();
let dir: string;
let redis: RedisServer;
let lb: LoadBalancer;
let replicas: ConnectorServer[] = [];
let resource: string;
let overrides: Parameters<typeof connectorConfig>[1];
const REDIRECT = 'http://127.0.0.1:7777/callback';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qindex-oauth-'));
  process.env.QINDEX_CONFIG_DIR = dir;
  redis = await startRedis();
  const port = await freePort();
  resource = `http://127.0.0.1:${port}/mcp`;
  overrides = {
    http: {
      resource,
      allowedHosts: [`127.0.0.1:${port}`],
      redisUrl: redis.url,
      cacheKey: randomBytes(32).toString('base64'),
    },
  };
  replicas = [await startConnector(sandbox(), overrides), await startConnector(sandbox(), overrides)];
  lb = new LoadBalancer(replicas.map((r) => new URL(r.server.url).port).map(Number));
  await lb.start(port);
});
afterAll(async () => {
  await lb?.stop();
  await Promise.all(replicas.map((r) => r.close()));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function registerAndSignIn(username: string, redeemTimes = 1) {
  const origin = new URL(resource).origin;
  const res = await fetch(`${origin}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [REDIRECT],
      client_name: 'Replica agent',
      token_endpoint_auth_method: 'none',
    }),
  });
  const clientId = ((await res.json()) as { client_id: string }).client_id;
  const user = sandbox().description.users.find((u) => u.username === username)!;
  const { params, verifier } = await signInByFetch({
    origin,
    clientId,
    redirectUri: REDIRECT,
    resource,
    user,
  });
  const redeem = () =>
    fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: params.get('code')!,
        code_verifier: verifier,
        redirect_uri: REDIRECT,
      }).toString(),
    });
  if (redeemTimes > 1) {
    // Round robin: the same code reaches both replicas at once.
    const answers = await Promise.all(Array.from({ length: redeemTimes }, redeem));
    return { statuses: answers.map((a) => a.status), access_token: '', refresh_token: '' };
  }
  const tokens = await redeem();
  expect(tokens.status).toBe(200);
  return { statuses: [200], ...((await tokens.json()) as { access_token: string; refresh_token: string }) };
}

describe('two replicas sharing Redis', () => {
  it('a sign-in spread over both replicas works; the user is served by either with one exchange in total', async () => {
    lb.target = undefined; // round robin: every step of the sign-in may land on the other replica
    const tokens = await registerAndSignIn('alice');
    expect(lb.served[0]).toBeGreaterThan(0);
    expect(lb.served[1]).toBeGreaterThan(0);
    const control = controlClient(sandbox().description.control);
    const before = (await control.counters())['sso-oauth:CreateTokenWithIAM'] ?? 0;
    for (const target of [0, 1]) {
      lb.target = target;
      const { client } = await connect(resource, tokens.access_token);
      const found = await search(client, 'onboarding');
      expect(found.isError, found.text).toBe(false);
      await client.close();
    }
    expect((await control.counters())['sso-oauth:CreateTokenWithIAM']).toBe(before + 1);
  });

  it('rotates the upstream refresh token under the Redis lock: concurrent calls on two replicas never lose the grant', async () => {
    const control = controlClient(sandbox().description.control);
    await control.setSwitches({ cognitoRotateRefreshTokens: true });
    lb.target = undefined;
    const tokens = await registerAndSignIn('bob');
    // Two more replicas' connectors over the same Redis, called directly (no credential cache between).
    const config = connectorConfig(sandbox(), overrides);
    const make = () =>
      createConnector({
        config,
        http: config.http!,
        port: 0,
        logger: createLogger({ level: 'silent' }),
        tenantOf: createTenantResolver(config),
      });
    const both: Connector[] = [await make(), await make()];
    try {
      const calls = Array.from({ length: 8 }, (_, i) => both[i % 2]!.freshIdToken(tokens.access_token));
      const idTokens = await Promise.all(calls);
      expect(new Set(idTokens).size).toBe(idTokens.length);
      // The grant is alive: one more fresh token, and our access token still verifies.
      await both[0]!.freshIdToken(tokens.access_token);
      await expect(both[1]!.verify(tokens.access_token)).resolves.toMatchObject({
        issuer: config.idp.issuer,
      });
      // Never an upstream token in what an MCP client got.
      for (const t of idTokens) expect(JSON.stringify(tokens)).not.toContain(t);
    } finally {
      await control.setSwitches({ cognitoRotateRefreshTokens: false });
      await Promise.all(both.map((c) => c.close()));
    }
  });

  it('a half-finished sign-in leaves only entries that expire within signInSeconds, all sealed', async () => {
    const origin = new URL(resource).origin;
    const reg = await fetch(`${origin}/oauth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }),
    });
    const clientId = ((await reg.json()) as { client_id: string }).client_id;
    const db = new Redis(redis.url);
    try {
      const before = new Set(await db.keys('*'));
      const url = new URL(`${origin}/oauth/authorize`);
      const query = {
        response_type: 'code',
        client_id: clientId,
        redirect_uri: REDIRECT,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        resource,
      };
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const first = await fetch(url, { redirect: 'manual' });
      const cookie = first.headers
        .getSetCookie()
        .map((c) => c.split(';')[0])
        .join('; ');
      const toIdp = await fetch(new URL(first.headers.get('location')!, origin), {
        redirect: 'manual',
        headers: { cookie },
      });
      expect(new URL(toIdp.headers.get('location')!).origin).toBe(
        new URL(sandbox().description.cognito.issuer).origin,
      );
      // The user walks away at the IdP's login page.
      const added = (await db.keys('*')).filter((k) => !before.has(k));
      expect(added.length).toBeGreaterThan(0);
      const signInSeconds = connectorConfig(sandbox(), overrides).http!.oauth.signInSeconds;
      for (const key of added) {
        const ttl = await db.ttl(key);
        expect(ttl, key).toBeGreaterThan(0);
        expect(ttl, key).toBeLessThanOrEqual(signInSeconds);
        expect(key).toMatch(/^qindex:oauth:[\w-]+$/); // an HMAC, never an id or a token
        const value = (await db.type(key)) === 'string' ? await db.get(key) : '';
        expect(value).not.toContain(clientId);
      }
    } finally {
      db.disconnect();
    }
  });

  it('every AWS session expiring at once: concurrent re-exchanges on both replicas, each from a rotated upstream refresh, keep the grant', async () => {
    const control = controlClient(sandbox().description.control);
    lb.target = undefined;
    const tokens = await registerAndSignIn('dave');
    // 2026-era clients have no sessions, so each call may land on either replica.
    const clients = [
      (await connect(resource, tokens.access_token, { era: 'modern' })).client,
      (await connect(resource, tokens.access_token, { era: 'modern' })).client,
    ];
    await control.setSwitches({ cognitoRotateRefreshTokens: true });
    try {
      const before = (await control.counters())['sso-oauth:CreateTokenWithIAM'] ?? 0;
      for (let round = 0; round < 3; round++) {
        await control.expireSessions();
        const results = await Promise.all([0, 1, 0, 1, 0, 1].map((i) => search(clients[i]!, 'onboarding')));
        for (const r of results) expect(r.isError, `round ${round}: ${r.text}`).toBe(false);
      }
      // At least one re-exchange per round, each with an assertion the pool issued to its client.
      expect((await control.counters())['sso-oauth:CreateTokenWithIAM']).toBeGreaterThanOrEqual(before + 3);
      const pool = sandbox().description.cognito;
      for (const r of await control.assertions())
        expect(r).toMatchObject({ iss: pool.issuer, aud: [pool.clientId] });
    } finally {
      await control.setSwitches({ cognitoRotateRefreshTokens: false });
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  it('one code sent to both replicas at once is honoured once', async () => {
    lb.target = undefined;
    for (let i = 0; i < 3; i++) {
      const { statuses } = await registerAndSignIn('alice', 2);
      expect(statuses.sort()).toEqual([200, 400]);
    }
  });
});
