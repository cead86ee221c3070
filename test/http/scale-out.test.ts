/**
 * Scale-out with single-use assertions (the sandbox refuses a reused one): two built server processes
 * in stateless mode, one user's calls spread across them round-robin. Sharing a real redis-server they
 * make exactly one exchange between them; without Redis, the second replica's refusal is a 401
 * invalid_token the client recovers from by presenting a fresh token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FetchLike } from '@modelcontextprotocol/client';
import { useSandbox } from '../helpers/sandbox.js';
import { configInputFor } from '../helpers/config.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { CLI, ensureBuilt } from '../../tools/ensure-built.js';
import { connect, search } from './harness.js';
import { startRedis, type RedisServer } from './redis.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const token = () =>
  control().mintAccessToken({ username: 'alice', clientId: sandbox().description.clients.isv });
let redis: RedisServer;
let configPath: string;
const cacheKey = randomBytes(32).toString('base64');

interface Replica {
  url: string;
  child: ChildProcess;
  stderr: string[];
  stop(): Promise<number | null>;
}

async function startReplica(extraArgs: string[]): Promise<Replica> {
  const creds = sandbox().description.modes.dataAccessor.baseCredentials;
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--transport', 'http', '--config', configPath, '--port', '0', '--stateless', ...extraArgs],
    {
      env: {
        PATH: process.env.PATH,
        HOME: mkdtempSync(join(tmpdir(), 'qindex-home-')),
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        QINDEX_CACHE_KEY: cacheKey,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderr: string[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr.push(d.toString());
      const m = /MCP endpoint (http:\/\/\S+)/.exec(stderr.join(''));
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`replica exited ${code}: ${stderr.join('')}`)));
  });
  return {
    url,
    child,
    stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** A round-robin "load balancer" in the client's fetch; records which replica got each tool call. */
function roundRobin(replicas: Replica[], toolCallsAt: number[]): FetchLike {
  let next = 0;
  return async (url, init) => {
    const i = next++ % replicas.length;
    if (typeof init?.body === 'string' && init.body.includes('"tools/call"')) toolCallsAt.push(i);
    const target = new URL(replicas[i]!.url);
    return fetch(target, init);
  };
}

beforeAll(async () => {
  [redis] = await Promise.all([startRedis(), ensureBuilt()]);
  const d = sandbox().description;
  const input = configInputFor(d, 'data-accessor', {
    logging: { level: 'warn' },
    http: { auth: 'bearer', resource: d.mcpResource },
  });
  configPath = join(mkdtempSync(join(tmpdir(), 'qindex-http-')), 'config.json');
  writeFileSync(configPath, JSON.stringify(input));
}, 120_000);
afterAll(async () => {
  await redis?.stop();
});

describe('HTTP transport, stateless scale-out with single-use assertions', () => {
  it('makes exactly one exchange for one user across two replicas sharing Redis', async () => {
    await control().reset();
    const replicas = await Promise.all([0, 1].map(() => startReplica(['--redis-url', redis.url])));
    try {
      const at: number[] = [];
      const { client } = await connect(replicas[0]!.url, await token(), { fetch: roundRobin(replicas, at) });
      const results = await Promise.all(
        ['payments-api runbook', 'VPN', 'office guide', 'security key', 'payments-api runbook', 'laptop'].map(
          (q) => search(client, q),
        ),
      );
      for (const r of results) expect(r.isError, r.text).toBe(false);
      expect(results[0]!.titles).toContain('Runbook: payments-api');
      expect(new Set(at)).toEqual(new Set([0, 1]));
      const counters = await control().counters();
      expect(counters['sso-oauth:CreateTokenWithIAM']).toBe(1);
      expect(counters.reusedAssertions ?? 0).toBe(0);
      await client.close();
    } finally {
      const codes = await Promise.all(replicas.map((r) => r.stop()));
      expect(codes).toEqual([0, 0]);
    }
    for (const r of replicas) expect(r.stderr.join('')).not.toMatch(/AKIA|ASIA[A-Z0-9]{12}/);
  });

  it('without Redis, turns the refused reuse into a 401 the client recovers from with a fresh token', async () => {
    await control().reset();
    const replicas = await Promise.all([0, 1].map(() => startReplica([])));
    try {
      const at: number[] = [];
      const balanced = roundRobin(replicas, at);
      let current = await token();
      let refreshed = 0;
      // The client's recovery: on 401 invalid_token, fetch a fresh token and send the request again.
      const recovering: FetchLike = async (url, init) => {
        const send = (t: string) => {
          const headers = new Headers(init?.headers);
          headers.set('authorization', `Bearer ${t}`);
          return balanced(url, { ...init, headers });
        };
        const res = await send(current);
        if (res.status !== 401 || !/invalid_token/.test(res.headers.get('www-authenticate') ?? ''))
          return res;
        refreshed++;
        current = await token();
        return send(current);
      };
      const { client } = await connect(replicas[0]!.url, current, { fetch: recovering });
      for (const q of ['payments-api runbook', 'VPN', 'office guide', 'security key']) {
        const r = await search(client, q);
        expect(r.isError, r.text).toBe(false);
      }
      expect(new Set(at)).toEqual(new Set([0, 1]));
      expect(refreshed).toBe(1);
      const counters = await control().counters();
      expect(counters.reusedAssertions).toBe(1);
      expect(counters['sso-oauth:CreateTokenWithIAM']).toBe(3);
      await client.close();
    } finally {
      await Promise.all(replicas.map((r) => r.stop()));
    }
  });
});
