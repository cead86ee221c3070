/**
 * The fleet proof (issue 15): three replicas in stateless bearer mode sharing one real redis-server,
 * behind a real HAProxy, with 100 users driving calls through it concurrently with the MCP SDK client
 * while each replica in turn is restarted (SIGTERM), Redis is stopped and started, and one replica is
 * killed (SIGKILL). No user-visible call fails, each user sees only their documents, the fleet makes one
 * exchange per user (plus one per fallback while Redis was down), no credential is readable in Redis, and
 * each replica's /metrics agrees with its audit trail, which adds up to the calls made. Bounded: about a
 * minute. Figures go to bench/results/fleet.json (and bench/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { Redis } from 'ioredis';
import type { Client, FetchLike } from '@modelcontextprotocol/client';
import { useSandbox } from '../helpers/sandbox.js';
import { configInputFor } from '../helpers/config.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { connect, search } from '../http/harness.js';
import { parseMetrics, sample } from '../http/metrics-text.js';
import { freePort, redisAt, startHaproxy, startReplica, type ReplicaProcess } from './parts.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const USERS = 100;
const RUNBOOK = 'Runbook: payments-api';
const sandbox = useSandbox();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let dir: string;
let redis: ReturnType<typeof redisAt>;
let stopHaproxy: (() => Promise<void>) | undefined;
let lb: string;
let lbPort: number;
const ports: number[] = [];
const metricsPorts: number[] = [];
const replicas: Array<ReplicaProcess | undefined> = [];
const incarnations: string[][] = [[], [], []];
const cacheKey = randomBytes(32).toString('base64');

/** A new incarnation of replica `i`: its own audit file, so each one's lines can be told apart. */
async function launch(i: number): Promise<void> {
  const d = sandbox().description;
  const audit = join(dir, `audit-r${i}-${incarnations[i]!.length}.jsonl`);
  incarnations[i]!.push(audit);
  const configPath = join(dir, `config-r${i}-${incarnations[i]!.length}.json`);
  const input = configInputFor(d, 'data-accessor', {
    logging: { level: 'warn' },
    http: {
      auth: 'bearer',
      resource: d.mcpResource,
      // The balancer's address is the one clients name.
      allowedHosts: [`127.0.0.1:${lbPort}`],
      redisUrl: redis.url,
      audit: { file: audit },
      limits: { shutdownGraceSeconds: 10, maxConcurrentPerUser: 64 },
    },
  });
  writeFileSync(configPath, JSON.stringify(input));
  const creds = d.modes.dataAccessor.baseCredentials;
  replicas[i] = await startReplica(ROOT, configPath, ports[i]!, metricsPorts[i]!, {
    HOME: mkdtempSync(join(tmpdir(), 'qindex-home-')),
    AWS_ACCESS_KEY_ID: creds.accessKeyId,
    AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
    QINDEX_CACHE_KEY: cacheKey,
  });
}

async function scrape(i: number) {
  const res = await fetch(`http://127.0.0.1:${metricsPorts[i]}/metrics`);
  return parseMetrics(await res.text());
}

const auditLines = (file: string) =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { outcome: string; user: string })
    : [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qindex-fleet-'));
  redis = redisAt(await freePort());
  await redis.start();
  lbPort = await freePort();
  for (let i = 0; i < 3; i++) {
    ports.push(await freePort());
    metricsPorts.push(await freePort());
  }
  await Promise.all([0, 1, 2].map((i) => launch(i)));
  stopHaproxy = await startHaproxy(dir, lbPort, ports);
  lb = `http://127.0.0.1:${lbPort}/mcp`;
}, 90_000);
afterAll(async () => {
  await stopHaproxy?.();
  for (const r of replicas) if (r && r.child.exitCode === null) r.child.kill('SIGKILL');
  await redis?.stop();
});

interface User {
  person: string;
  subject: string;
  client: Client;
  titles: Set<string> | undefined;
  refreshes: number;
}

describe('a fleet of three replicas behind HAProxy', () => {
  it('serves 100 users through rolling restarts, a Redis outage and a crash without a failed call', async () => {
    const sb = sandbox();
    const d = sb.description;
    const control = controlClient(d.control);
    const before = await control.counters();
    const people = sb.world.users.filter((u) => u.inIdentityCenter);
    const tokenFor = (person: (typeof people)[number], subject: string) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ email: person.email, client_id: d.clients.isv })
        .setProtectedHeader({ alg: 'RS256', kid: sb.keys.kid, typ: 'at+jwt' })
        .setIssuer(d.issuer)
        .setSubject(subject)
        .setAudience(d.mcpResource)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .setJti(randomUUID())
        .sign(sb.keys.signingKey);
    };

    let balancerRetries = 0;
    /** The body of a 503, read from a clone so the response stays readable. */
    const peek = (res: Response) =>
      res
        .clone()
        .text()
        .catch(() => '');
    const refusedToken = (res: Response) =>
      res.status === 401 && /invalid_token/.test(res.headers.get('www-authenticate') ?? '');
    // Each user's client presents a fresh token after a 401 invalid_token (an assertion IdC already took:
    // a replica that fell back to its own exchange while Redis was down), as an OAuth client would.
    const users: User[] = await Promise.all(
      Array.from({ length: USERS }, async (_, n) => {
        const person = people[n % people.length]!;
        const subject = `${person.username}-fleet-${n}`;
        let token = await tokenFor(person, subject);
        const user = { person: person.username, subject, titles: undefined, refreshes: 0 } as Omit<
          User,
          'client'
        >;
        const fetchWithRenewal: FetchLike = async (url, init) => {
          const send = () => {
            const headers = new Headers(init?.headers);
            headers.set('authorization', `Bearer ${token}`);
            return fetch(url, { ...init, headers });
          };
          let res = await send();
          // HAProxy's own 503 when, for a moment, no replica passes its check (a loaded machine): the
          // client tries again, as an MCP client does with a 503 before its request was served.
          for (
            let retry = 0;
            retry < 5 && res.status === 503 && /No server is available/.test(await peek(res));
            retry++
          ) {
            balancerRetries++;
            await sleep(200 * (retry + 1));
            res = await send();
          }
          // While Redis is down each replica exchanges on its own, so one request may meet a replica that
          // took the newest token already: each 401 gets a fresher one (at most one per replica).
          for (let renewal = 0; renewal < 3 && refusedToken(res); renewal++) {
            user.refreshes++;
            token = await tokenFor(person, subject);
            res = await send();
          }
          return res;
        };
        const { client } = await connect(lb, undefined, { fetch: fetchWithRenewal });
        return Object.assign(user, { client });
      }),
    );

    const latencies: number[] = [];
    const retriedToolErrors: string[] = [];
    const failures: string[] = [];
    let running = true;
    const loops = users.map(async (u) => {
      while (running) {
        const t0 = performance.now();
        try {
          let r = await search(u.client, 'payments-api runbook');
          // A tool error the server marks retryable ("Try again"): the agent tries once more, as the
          // error tells it to. Counted; the run allows few.
          if (r.isError && /Try again/.test(r.text)) {
            retriedToolErrors.push(r.text.split('\n')[0]!.slice(0, 160));
            r = await search(u.client, 'payments-api runbook');
          }
          latencies.push(performance.now() - t0);
          if (r.isError) failures.push(`${u.subject}: ${r.text.slice(0, 200)}`);
          else {
            const titles = new Set(r.titles);
            u.titles ??= titles;
            if ([...titles].sort().join('|') !== [...u.titles].sort().join('|'))
              failures.push(`${u.subject}: results changed`);
          }
        } catch (e) {
          failures.push(`${u.subject}: ${(e as Error).message.slice(0, 200)}`);
        }
        await sleep(150);
      }
    });
    const okCalls = () => latencies.length;

    // Warm: every user served once, one exchange each for the whole fleet.
    const t0 = Date.now();
    while (users.some((u) => !u.titles) && Date.now() - t0 < 60_000) await sleep(100);
    expect(users.every((u) => u.titles)).toBe(true);
    const warm = await control.counters();
    const exchanges = (c: Record<string, number>) =>
      (c['sso-oauth:CreateTokenWithIAM'] ?? 0) - (before['sso-oauth:CreateTokenWithIAM'] ?? 0);
    expect(exchanges(warm)).toBe(USERS);

    // Rolling restart: SIGTERM each replica in turn under load; in-flight calls finish (exit 0) while
    // HAProxy's /healthz checks take it out, then it comes back on its port.
    const drainAnswers: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = replicas[i]!;
      r.child.kill('SIGTERM');
      const probing = (async () => {
        while (r.child.exitCode === null) {
          drainAnswers.push(
            await fetch(`http://127.0.0.1:${ports[i]}/healthz`)
              .then((res) => String(res.status))
              .catch(() => 'refused'),
          );
          await sleep(20);
        }
      })();
      expect(await r.exited).toBe(0);
      await probing;
      await launch(i);
      await sleep(800); // two 200 ms checks to be up again, then some load on it
    }

    // Redis loss: replicas keep serving, from memory or their own exchanges, and use Redis when it is back.
    const beforeOutage = await control.counters();
    await redis.stop();
    await sleep(2000);
    await redis.start();
    await sleep(1500);

    // A crash: SIGKILL, then the replica comes back. Its audit lines were written before each answer.
    const scrapesBeforeKill = await Promise.all([0, 1, 2].map(scrape));
    replicas[1]!.child.kill('SIGKILL');
    await replicas[1]!.exited;
    await sleep(1000);
    await launch(1);
    await sleep(1000);

    running = false;
    await Promise.all(loops);
    const after = await control.counters();
    await Promise.all(users.map((u) => u.client.close().catch(() => undefined)));

    expect(failures.slice(0, 5).join('\n')).toBe('');
    expect(failures).toHaveLength(0);
    expect(retriedToolErrors.length).toBeLessThanOrEqual(Math.ceil(latencies.length / 100));
    // Each user sees only their documents: the engineering runbook for alice's users only.
    for (const u of users) expect(u.titles!.has(RUNBOOK), u.subject).toBe(u.person === 'alice');

    // Metrics of each live replica agree with its audit trail; all audit lines add up to the calls made.
    const finalScrapes = await Promise.all([0, 1, 2].map(scrape));
    for (let i = 0; i < 3; i++) {
      const lines = auditLines(incarnations[i]!.at(-1)!);
      expect(sample(finalScrapes[i]!, 'qindex_tool_calls_total', {})).toBe(lines.length);
    }
    const all = incarnations.flat().flatMap(auditLines);
    const served = all.filter((l) => l.outcome === 'ok').length;
    // A call whose replica was killed after writing its audit line but before its answer left is served
    // again by another replica (HAProxy's retry): at most one per user in flight at the kill.
    expect(served).toBeGreaterThanOrEqual(okCalls());
    expect(served - okCalls()).toBeLessThanOrEqual(USERS);
    const fallbacks = [...scrapesBeforeKill, ...finalScrapes].reduce(
      (n, m) => n + sample(m, 'qindex_shared_cache_events_total', { event: 'fallback' }),
      0,
    );
    const outageExchanges = exchanges(after) - exchanges(beforeOutage);
    const refreshes = users.reduce((n, u) => n + u.refreshes, 0);
    // Outside the outage, one exchange per user for the whole fleet, restarts included.
    expect(exchanges(beforeOutage)).toBe(USERS);

    // No credential readable in Redis.
    const raw = new Redis(redis.url);
    for (const k of await raw.keys('*')) {
      const v = (await raw.get(k).catch(() => '')) ?? '';
      expect(v).not.toMatch(/ASIA|AKIA|secretAccessKey|sessionToken/);
    }
    raw.disconnect();

    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) =>
      Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!);
    const figures = {
      users: USERS,
      calls: okCalls(),
      errors: failures.length,
      p50Ms: pct(0.5),
      p99Ms: pct(0.99),
      maxMs: Math.round(sorted.at(-1)!),
      exchangesWarm: exchanges(warm),
      exchangesBeforeOutage: exchanges(beforeOutage),
      exchangesDuringAndAfterOutage: outageExchanges,
      fallbacks,
      tokenRefreshesAfter401: refreshes,
      clientRetriesOfHaproxy503: balancerRetries,
      retriedToolErrors,
      reusedAssertionsRefused: (after.reusedAssertions ?? 0) - (before.reusedAssertions ?? 0),
      auditLinesServed: served,
      duplicatesAfterKill: served - okCalls(),
      drainHealthz: [...new Set(drainAnswers)].map(
        (s) => `${s} ×${drainAnswers.filter((x) => x === s).length}`,
      ),
      load: loadavg().map((l) => l.toFixed(2)),
      node: process.version,
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/fleet.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.log(JSON.stringify(figures));
  }, 150_000);
});
