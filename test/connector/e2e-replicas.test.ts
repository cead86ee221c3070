/**
 * Two connector replicas behind one public URL (a load balancer), sharing a real redis-server: a user who
 * signed in through replica A is served by replica B with one identity exchange in total (the sandbox's
 * counters), and with the pool rotating refresh tokens, concurrent calls on both replicas — each forced to
 * exchange again — never lose the grant; no secret reaches either replica's log or a client.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { useSandbox } from '../helpers/sandbox.js';
import { launchChromium } from '../helpers/chromium.js';
import { startRedis, type RedisServer } from '../http/redis.js';
import { search } from '../http/harness.js';
import {
  BrowserOAuthProvider,
  LoopbackRedirect,
  connectWithOAuth,
  type OAuthConnection,
} from '../helpers/oauth-client.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import {
  LoadBalancer,
  freePort,
  sandboxSecrets,
  startConnector,
  type ConnectorServer,
} from './e2e-harness.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const EXCHANGE = 'sso-oauth:CreateTokenWithIAM';
const ACME = 'Acme Rocket Sled Safety Procedure';

let redis: RedisServer;
let browser: Browser;
let replicas: ConnectorServer[] = [];
let lb: LoadBalancer;
let publicUrl: string;
const redirect = new LoopbackRedirect();
const connections: OAuthConnection[] = [];
const seen: string[] = [];
let provider: BrowserOAuthProvider;

beforeAll(async () => {
  [redis, browser] = await Promise.all([startRedis(), launchChromium(), redirect.start()]);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  publicUrl = `${origin}/mcp`;
  const cacheKey = randomBytes(32).toString('base64');
  const shared = {
    http: {
      resource: publicUrl,
      // Behind the load balancer the replicas see its Host and Origin, as behind any proxy.
      allowedHosts: [`127.0.0.1:${port}`],
      allowedOrigins: [origin],
      redisUrl: redis.url,
      cacheKey,
      oauth: { issuer: origin, registration: { policy: 'open' as const } },
    },
  };
  replicas = [await startConnector(sandbox(), shared), await startConnector(sandbox(), shared)];
  lb = new LoadBalancer(replicas.map((r) => r.server.port));
  await lb.start(port);
  provider = new BrowserOAuthProvider(
    browser,
    redirect,
    { kind: 'dcr' },
    { username: 'alice', password: 'alice-pw' },
  );
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.client.close().catch(() => undefined)));
  await lb?.stop();
  await Promise.all(replicas.map((r) => r.close()));
  await browser?.close();
  await redirect.stop();
  await redis?.stop();
});

async function titles(connection: OAuthConnection, query = 'Acme rocket sled safety procedure') {
  const r = await search(connection.client, query);
  seen.push(r.text);
  expect(r.isError, r.text).toBe(false);
  return r.titles;
}

const on = async (replica: number) => {
  const c = await connectWithOAuth(publicUrl, provider, { 'x-replica': String(replica) });
  connections.push(c);
  return c;
};

describe('connector replicas sharing Redis', () => {
  it('signed in through replica A, served by replica B: one exchange in total', async () => {
    await control().reset();
    lb.target = 0; // the whole sign-in, browser included, through replica A
    const onA = await on(0);
    lb.target = undefined;
    expect(lb.served[0]).toBeGreaterThan(0);
    expect(lb.served[1]).toBe(0);
    const before = lb.served[1]!;
    const onB = await on(1);
    expect(await titles(onB)).toContain(ACME);
    expect(lb.served[1]).toBeGreaterThan(before);
    expect(await titles(onA)).toContain(ACME);
    expect((await control().counters())[EXCHANGE]).toBe(1);
  });

  it("upstream rotation on, a new user's first calls land on both replicas at once: one exchange, the grant survives", async () => {
    await control().reset();
    await control().setSwitches({ cognitoRotateRefreshTokens: true });
    const r = new LoopbackRedirect();
    await r.start();
    const bob = new BrowserOAuthProvider(
      browser,
      r,
      { kind: 'dcr' },
      { username: 'bob', password: 'bob-pw' },
    );
    try {
      lb.target = 0;
      const onA = await connectWithOAuth(publicUrl, bob, { 'x-replica': '0' });
      lb.target = undefined;
      const onB = await connectWithOAuth(publicUrl, bob, { 'x-replica': '1' });
      connections.push(onA, onB);
      // No credentials cached yet: both replicas want an exchange (a fresh upstream ID token) at the same time.
      const first = await Promise.all([onA, onB, onA, onB].map((c) => search(c.client, 'Acme rocket sled')));
      for (const x of first) {
        seen.push(x.text);
        expect(x.isError, x.text).toBe(false);
      }
      expect(await titles(onB)).toContain(ACME);
      expect(await titles(onA)).toContain(ACME);
      const records = await control().assertions();
      expect(records.length).toBeGreaterThanOrEqual(1);
      for (const x of records) expect(x.outcome).toBe('ok');
      // Both replicas' concurrent first calls made one exchange, its assertion from a (rotating) refresh grant
      // after the code grant.
      const counters = await control().counters();
      expect(counters[EXCHANGE]).toBe(1);
      expect(counters['cognito:token']).toBeGreaterThanOrEqual(2);
    } finally {
      await r.stop();
    }
  });

  it('upstream rotation on, concurrent calls on both replicas each re-exchanging: the grant survives', async () => {
    await control().reset();
    await control().setSwitches({ cognitoRotateRefreshTokens: true });
    const [a, b] = [connections[0]!, connections[1]!];
    for (let round = 0; round < 3; round++) {
      // Every AWS session expires: each replica must exchange again, with a fresh upstream ID token.
      await control().expireSessions();
      const results = await Promise.all([a, b, a, b, a, b].map((c) => search(c.client, 'Acme rocket sled')));
      for (const r of results) {
        seen.push(r.text);
        expect(r.isError, r.text).toBe(false);
      }
    }
    const counters = await control().counters();
    expect(counters[EXCHANGE]).toBeGreaterThanOrEqual(3);
    // The pool was asked for fresh ID tokens (rotating refresh grants), and every assertion it issued was good.
    expect(counters['cognito:token']).toBeGreaterThanOrEqual(3);
    const records = await control().assertions();
    const pool = sandbox().description.cognito;
    for (const r of records)
      expect(r).toMatchObject({ iss: pool.issuer, aud: [pool.clientId], outcome: 'ok' });
    // Still signed in afterwards, on both.
    await control().expireSessions();
    expect(await titles(b)).toContain(ACME);
    expect(await titles(a)).toContain(ACME);
  });

  it('canary: no upstream token, MCP token, AWS credential or identity context in either log or a response', () => {
    const t = provider.tokens()!;
    const secrets = [
      ...sandboxSecrets(sandbox()),
      t.access_token,
      ...(t.refresh_token ? [t.refresh_token] : []),
    ];
    const logs = replicas.map((r) => r.logs.join('')).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    const outward = [...seen, ...provider.pageTexts].join('\n');
    for (const secret of secrets) {
      expect(logs.includes(secret), 'a secret in a replica log').toBe(false);
      expect(outward.includes(secret), 'a secret in a response').toBe(false);
    }
  });
});
