/**
 * Fleet telemetry of one bearer-mode server against the sandbox, over real sockets: `/metrics` on its own
 * listener counts exactly the tool calls, upstream calls, exchanges and refusals made; the audit file has
 * one line per tool call with who (tenant, user hash, client), what, how it ended and the Q request id;
 * and neither names a user, a token or the query text (canaries), unless the operator opted in to queries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { userKey } from '../../src/server/http/user-cache.js';
import { bearerConfig, connect, initializeBody, post, search, startBearerServer } from './harness.js';
import { parseMetrics, sample } from './metrics-text.js';

const sandbox = useSandbox();
let dir: string;
let server: HttpServerHandle;
let optedIn: HttpServerHandle;
const CANARY = `canary-query-${randomBytes(6).toString('hex')}`;
const token = (username: string) =>
  controlClient(sandbox().description.control).mintAccessToken({
    username,
    clientId: sandbox().description.clients.isv,
  });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qindex-metrics-'));
  server = await startBearerServer(
    sandbox(),
    bearerConfig(sandbox(), 'data-accessor', {
      http: { metricsPort: 0, audit: { file: join(dir, 'audit.jsonl') } },
    }),
  );
  optedIn = await startBearerServer(
    sandbox(),
    bearerConfig(sandbox(), 'data-accessor', {
      http: { audit: { file: join(dir, 'queries.jsonl'), includeQueries: true } },
    }),
  );
});
afterAll(async () => {
  await Promise.all([server?.close(), optedIn?.close()]);
  await rm(dir, { recursive: true, force: true });
});

async function scrape(url = server.metricsUrl!) {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

describe('metrics and audit of a bearer-mode server', () => {
  it('serves /metrics on its own loopback listener, not on the MCP port', async () => {
    expect(server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(server.metricsUrl!).port).not.toBe(String(server.port));
    expect((await fetch(new URL('/metrics', server.url))).status).toBe(404);
    expect((await fetch(new URL('/other', server.metricsUrl))).status).toBe(404);
    expect(optedIn.metricsUrl).toBeUndefined();
  });

  it('counts the calls made, and the audit has one line per call without canaries', async () => {
    const control = controlClient(sandbox().description.control);
    const before = await control.counters();
    const users = ['alice', 'bob'] as const;
    const tokens = new Map<string, string>();
    const perUser = 3;
    for (const u of users) {
      const t = await token(u);
      tokens.set(u, t);
      const { client } = await connect(server.url, t);
      for (let i = 0; i < perUser; i++) {
        const found = await search(client, `${CANARY} runbook ${i}`);
        expect(found.isError).toBe(false);
      }
      // A call Q refuses: an error outcome with its own code.
      await controlClient(sandbox().description.control).setFault('qbusiness:SearchRelevantContent', {
        error: { code: 'AccessDeniedException', message: 'denied', status: 403, count: 1 },
      });
      expect((await search(client, `${CANARY} refused`)).isError).toBe(true);
      await client.close();
    }
    // Refusals: no token (401), a web page's Origin (403), a body over http.limits.maxBodyBytes (413).
    expect((await post(server.url, initializeBody)).status).toBe(401);
    expect((await post(server.url, initializeBody)).status).toBe(401);
    expect((await post(server.url, initializeBody, { origin: 'https://evil.example' })).status).toBe(403);
    const big = JSON.stringify({ ...initializeBody, pad: 'x'.repeat(1_100_000) });
    const tooBig = await post(server.url, big, { authorization: `Bearer ${tokens.get('alice')}` }).catch(
      () => undefined,
    );
    if (tooBig) expect(tooBig.status).toBe(413);

    const after = await control.counters();
    const upstream = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    const text = await scrape();
    const m = parseMetrics(text);
    const ok = users.length * perUser;
    expect(sample(m, 'qindex_tool_calls_total', { tool: 'search_relevant_content', outcome: 'ok' })).toBe(ok);
    const failed = m.filter(
      (s) =>
        s.name === 'qindex_tool_calls_total' &&
        s.labels.tool === 'search_relevant_content' &&
        s.labels.outcome !== 'ok',
    );
    expect(failed.reduce((n, s) => n + s.value, 0)).toBe(users.length);
    expect(failed).toHaveLength(1);
    expect(failed[0]!.labels.tenant).toBe('default');
    expect(sample(m, 'qindex_tool_call_duration_seconds_count', { tool: 'search_relevant_content' })).toBe(
      ok + users.length,
    );
    expect(
      sample(m, 'qindex_upstream_duration_seconds_count', {
        service: 'q',
        operation: 'SearchRelevantContent',
        outcome: 'ok',
      }),
    ).toBe(ok);
    expect(sample(m, 'qindex_upstream_duration_seconds_count', { service: 'q', outcome: 'error' })).toBe(
      users.length,
    );
    // One exchange per user: CreateTokenWithIAM at IdC, then AssumeRole at STS.
    expect(sample(m, 'qindex_identity_exchanges_total', { outcome: 'ok' })).toBe(users.length);
    expect(
      sample(m, 'qindex_upstream_duration_seconds_count', {
        service: 'sso-oidc',
        operation: 'CreateTokenWithIAM',
      }),
    ).toBe(users.length);
    // The metrics agree with what the sandbox's AWS saw (data-accessor: two AssumeRole per exchange).
    expect(
      sample(m, 'qindex_upstream_duration_seconds_count', { service: 'sts', operation: 'AssumeRole' }),
    ).toBe(upstream('sts:AssumeRole'));
    expect(upstream('sso-oauth:CreateTokenWithIAM')).toBe(users.length);
    expect(sample(m, 'qindex_upstream_duration_seconds_count', { service: 'q' })).toBe(
      upstream('qbusiness:SearchRelevantContent'),
    );
    expect(sample(m, 'qindex_credential_cache_events_total', { event: 'miss' })).toBe(users.length);
    // The IdP: its key set, fetched by this server to verify tokens.
    expect(
      sample(m, 'qindex_upstream_duration_seconds_count', { service: 'idp', operation: 'jwks' }),
    ).toBeGreaterThan(0);
    expect(sample(m, 'qindex_credential_cache_events_total', { event: 'hit' })).toBeGreaterThan(0);
    expect(sample(m, 'qindex_http_responses_total', { status: '401' })).toBe(2);
    expect(sample(m, 'qindex_http_responses_total', { status: '403' })).toBe(1);
    expect(sample(m, 'qindex_http_responses_total', { status: '413' })).toBe(1);
    expect(sample(m, 'qindex_cached_users', {})).toBe(users.length);
    expect(sample(m, 'qindex_in_flight', {})).toBe(0);
    expect(m.some((s) => s.name === 'qindex_sessions')).toBe(true);
    expect(m.some((s) => s.name === 'qindex_process_resident_memory_bytes')).toBe(true);

    // No user, token or query text in any label or value.
    const d = sandbox().description;
    for (const u of users) {
      for (const secret of [tokens.get(u)!, subjectOf(u), `${u}@example.com`])
        expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(CANARY);
    expect(text).not.toMatch(/ASIA[A-Z0-9]{8,}|eyJ[\w-]{10,}/);

    const lines = (await readFile(join(dir, 'audit.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(users.length * (perUser + 1));
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const [i, r] of records.entries()) {
      const u = users[Math.floor(i / (perUser + 1))]!;
      expect(r).toMatchObject({
        audit: 'tool_call',
        user: userKey(d.issuer, subjectOf(u), undefined),
        client: d.clients.isv,
        tool: 'search_relevant_content',
      });
      expect(Date.parse(r.time as string)).toBeGreaterThan(Date.now() - 600_000);
      expect(typeof r.ms).toBe('number');
      expect(r.qRequestId).toMatch(/^[\w-]{8,}$/);
      expect(r.arguments).toBeUndefined();
      expect(r.outcome).toBe(i % (perUser + 1) === perUser ? failed[0]!.labels.outcome : 'ok');
    }
    const audit = lines.join('\n');
    expect(audit).not.toContain(CANARY);
    for (const u of users) {
      for (const secret of [tokens.get(u)!, subjectOf(u), `${u}@example.com`])
        expect(audit).not.toContain(secret);
    }
  });

  it('records the arguments only where the operator opted in, tokens still blanked', async () => {
    const { client } = await connect(optedIn.url, await token('carol'));
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl';
    await search(client, `${CANARY} handbook ${jwt}`);
    await client.close();
    const [line] = (await readFile(join(dir, 'queries.jsonl'), 'utf8')).trim().split('\n');
    const r = JSON.parse(line!) as { arguments?: { query?: string }; outcome: string };
    expect(r.outcome).toBe('ok');
    expect(r.arguments?.query).toContain(`${CANARY} handbook`);
    expect(r.arguments?.query).not.toContain(jwt);
  });
});
