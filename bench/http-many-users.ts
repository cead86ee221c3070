/**
 * @module Benchmark: the Streamable HTTP transport in bearer mode with many users at once, against the
 * sandbox. Measures tool calls per second and latency percentiles (stateful sessions and stateless), and
 * the heap each cached user costs (their credentials, identity exchange state and Q client). The MCP
 * clients (the load generator) run in a child process of their own: the server and the sandbox stay in
 * this one, so the clients' CPU is not the server's.
 *
 * Run: node --expose-gc --import tsx bench/http-many-users.ts [users=50] [callsPerUser=20] [cachedUsers=300]
 * Writes bench/results/http-many-users.json.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { startSandbox, type Sandbox } from '../tools/sandbox/index.js';
import { configFor } from '../test/helpers/config.js';
import { createLogger } from '../src/log.js';
import { createMcpServer } from '../src/server/mcp.js';
import { startHttpServer, type HttpServerHandle } from '../src/server/http/app.js';
import { createCredentialProvider } from '../src/identity/index.js';
import { createQTransport } from '../src/q/client.js';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';

const LOAD_GENERATOR = '--load-generator';
const [users = 50, callsPerUser = 20, cachedUsers = 300] = process.argv
  .slice(2)
  .filter((a) => a !== LOAD_GENERATOR)
  .map(Number);
const QUERIES = [
  'VPN connection',
  'office guide Dublin',
  'security key enrollment',
  'expense policy',
  'laptop setup',
];
const logger = createLogger({ level: 'silent' });

/** Distinct subjects over the sandbox's IdC users (IdC matches by email): each is its own cached user. */
async function tokenFor(sandbox: Sandbox, i: number): Promise<string> {
  const people = sandbox.world.users.filter((u) => u.inIdentityCenter);
  const person = people[i % people.length]!;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: person.email })
    .setProtectedHeader({ alg: 'RS256', kid: sandbox.keys.kid, typ: 'at+jwt' })
    .setIssuer(sandbox.description.issuer)
    .setSubject(`${person.username}-${i}`)
    .setAudience(sandbox.description.mcpResource)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .setJti(randomUUID())
    .sign(sandbox.keys.signingKey);
}

async function startServer(sandbox: Sandbox, stateless: boolean): Promise<HttpServerHandle> {
  const d = sandbox.description;
  const config = configFor(d, 'data-accessor', {
    http: {
      auth: 'bearer',
      port: 0,
      resource: d.mcpResource,
      stateless,
      limits: { maxConcurrentPerUser: 64, maxCachedUsers: 100_000 },
    },
  });
  return startHttpServer(config, {
    logger,
    createServer: createMcpServer,
    baseCredentials: d.modes.dataAccessor.baseCredentials,
  });
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

interface LoadJob {
  /** mcp: tool calls to the server at `url`; raw: the same searches with the SDK, no server. */
  kind: 'mcp' | 'raw';
  url: string;
  tokens: string[];
  callsPerUser: number;
  description: Sandbox['description'];
}
interface LoadDone {
  latencies: number[];
  errors: number;
  seconds: number;
}

/**
 * The raw arm at the same concurrency: per token, the same identity exchange (done before the clock
 * starts) and one SDK client over one shared HTTP/2 pool, then the same searches in sequence.
 */
async function rawLoad(job: LoadJob): Promise<LoadDone> {
  const config = configFor(job.description, 'data-accessor');
  const requestHandler = createQTransport();
  const clients = await Promise.all(
    job.tokens.map(async (token) => {
      const credentials = createCredentialProvider(config, {
        freshIdToken: async () => token,
        logger,
        baseCredentials: job.description.modes.dataAccessor.baseCredentials,
      });
      await credentials();
      return new QBusinessClient({
        region: config.q.region,
        ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
        credentials,
        maxAttempts: 1,
        requestHandler,
      });
    }),
  );
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (sdk, u) => {
      for (let c = 0; c < job.callsPerUser; c++) {
        const t0 = performance.now();
        await sdk
          .send(
            new SearchRelevantContentCommand({
              applicationId: config.q.applicationId,
              queryText: QUERIES[(u + c) % QUERIES.length],
              contentSource: { retriever: { retrieverId: config.q.retrieverId } },
            }),
          )
          .catch(() => errors++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  requestHandler.destroy();
  return { latencies, errors, seconds };
}

/** The load generator's side (the child process): one MCP SDK client per token, calls in sequence. */
async function generateLoad(job: LoadJob): Promise<LoadDone> {
  if (job.kind === 'raw') return rawLoad(job);
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    job.tokens.map(async (token, u) => {
      const client = new Client({ name: 'bench', version: '1.0.0' });
      await client.connect(
        new StreamableHTTPClientTransport(new URL(job.url), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
        }),
      );
      for (let c = 0; c < job.callsPerUser; c++) {
        const t0 = performance.now();
        const r = await client
          .callTool({
            name: 'search_relevant_content',
            arguments: { query: QUERIES[(u + c) % QUERIES.length] },
          })
          .catch(() => ({ isError: true }));
        latencies.push(performance.now() - t0);
        if (r.isError) errors++;
      }
      await client.close();
    }),
  );
  return { latencies, errors, seconds: (performance.now() - started) / 1000 };
}

/** Runs generateLoad in a child process (this file with --load-generator) and waits for its figures. */
function inChild(job: LoadJob): Promise<LoadDone> {
  return new Promise((resolve, reject) => {
    const child = fork(import.meta.filename, [LOAD_GENERATOR], { execArgv: ['--import', 'tsx'] });
    child.once('message', (done) => {
      resolve(done as LoadDone);
      child.kill();
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
    child.send(job);
  });
}

async function load(sandbox: Sandbox, server: HttpServerHandle | undefined, offset: number) {
  const tokens = await Promise.all(Array.from({ length: users }, (_, i) => tokenFor(sandbox, offset + i)));
  const { latencies, errors, seconds } = await inChild({
    kind: server ? 'mcp' : 'raw',
    url: server?.url ?? '',
    tokens,
    callsPerUser,
    description: sandbox.description,
  });
  latencies.sort((a, b) => a - b);
  return {
    users,
    callsPerUser,
    calls: latencies.length,
    errors,
    callsPerSecond: Math.round(latencies.length / seconds),
    latencyMs: {
      p50: +percentile(latencies, 50).toFixed(1),
      p90: +percentile(latencies, 90).toFixed(1),
      p99: +percentile(latencies, 99).toFixed(1),
      max: +latencies[latencies.length - 1]!.toFixed(1),
    },
    ...(server ? { cachedUsers: server.stats().cachedUsers } : {}),
  };
}

/** Heap per cached user: warm `cachedUsers` users with one tool call each (stateless, no sessions). */
async function memoryPerUser(sandbox: Sandbox) {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return { note: 'run with node --expose-gc for this figure' };
  const server = await startServer(sandbox, true);
  const call = async (i: number) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${await tokenFor(sandbox, 1_000_000 + i)}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'search_relevant_content', arguments: { query: 'VPN' } },
      }),
    });
    await res.text();
  };
  await Promise.all(Array.from({ length: 5 }, (_, i) => call(-1 - i))); // warm code paths
  const settle = async () => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
    return process.memoryUsage().heapUsed;
  };
  const before = await settle();
  for (let i = 0; i < cachedUsers; i += 20) {
    await Promise.all(Array.from({ length: Math.min(20, cachedUsers - i) }, (_, j) => call(i + j)));
  }
  const after = await settle();
  const result = {
    cachedUsers: server.stats().cachedUsers - 5,
    heapBytesPerUser: Math.round((after - before) / cachedUsers),
    heapMiBTotal: +((after - before) / 1048576).toFixed(1),
  };
  await server.close();
  return result;
}

async function main() {
  const sandbox = await startSandbox();
  try {
    const stateful = await startServer(sandbox, false);
    const statefulRun = await load(sandbox, stateful, 0);
    await stateful.close();
    const stateless = await startServer(sandbox, true);
    const statelessRun = await load(sandbox, stateless, 10_000);
    await stateless.close();
    const rawRun = await load(sandbox, undefined, 20_000);
    const memory = await memoryPerUser(sandbox);
    const results = {
      benchmark: 'http-many-users',
      date: new Date().toISOString(),
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      // Other work on the machine skews every figure; the load average says how much.
      loadAverage: (await import('node:os')).loadavg().map((l) => +l.toFixed(2)),
      setup:
        'bearer mode, data-accessor identity chain, server and sandbox in one process, the MCP SDK clients (one per user) in another',
      stateful: statefulRun,
      stateless: statelessRun,
      raw: rawRun,
      /** MCP calls/s over raw SDK calls/s at the same concurrency; p99 over raw p99, in ms. */
      vsRaw: {
        statefulThroughput: +(statefulRun.callsPerSecond / rawRun.callsPerSecond).toFixed(3),
        statelessThroughput: +(statelessRun.callsPerSecond / rawRun.callsPerSecond).toFixed(3),
        statefulP99OverheadMs: +(statefulRun.latencyMs.p99 - rawRun.latencyMs.p99).toFixed(1),
        statelessP99OverheadMs: +(statelessRun.latencyMs.p99 - rawRun.latencyMs.p99).toFixed(1),
      },
      memory,
    };
    const dir = join(import.meta.dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'http-many-users.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await sandbox.stop();
  }
}

if (process.argv.includes(LOAD_GENERATOR)) {
  process.once('message', (job) => {
    void generateLoad(job as LoadJob).then((done) => process.send!(done));
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exitCode = 1;
  });
}
