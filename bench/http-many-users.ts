/**
 * @module Benchmark: the Streamable HTTP transport in bearer mode with many users at once, against the
 * sandbox. Measures tool calls per second and latency percentiles (stateful sessions and stateless)
 * against raw SDK calls at the same concurrency, and the heap each cached user costs the server (their
 * credentials, identity exchange state and Q client). Three processes besides this one, each forked with
 * IPC: the sandbox (bench/http-sandbox.ts), the built server (bench/http-server.ts, which answers a
 * "GC, then heapUsed" request) and, per arm, the load generator (bench/http-load.ts). Both arms warm every
 * user up the same way before the clock (see http-load.ts). The arms run in pairs: raw, stateful, raw,
 * stateless; each MCP arm is compared with the raw run just before it.
 *
 * Run (after `npm run build`): node --import tsx bench/http-many-users.ts [users=50] [callsPerUser=20]
 * [cachedUsers=300]. BENCH_CPU_PROF=<dir> writes the server process's CPU profiles there;
 * BENCH_MEMORY_ONLY=1 measures the heap per user alone (no results file); BENCH_ARMS=raw,stateless (say)
 * runs only those arms and prints them (no results file);
 * BENCH_HEAP_SNAPSHOTS=<dir> heap snapshots of the memory server before and after its cached users.
 * Writes bench/results/http-many-users.json.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { configInputFor } from '../test/helpers/config.js';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import type { LoadDone, LoadJob } from './http-load.js';

const [users = 50, callsPerUser = 20, cachedUsers = 300] = process.argv.slice(2).map(Number);
const here = import.meta.dirname;
const childLogPath = join(tmpdir(), `http-many-users-${process.pid}.log`);
const childLog = openSync(childLogPath, 'a');

/** A forked helper answering { id, ...request } with { id, value } or { id, error }. */
function child(file: string, execArgv: string[] = []) {
  const proc: ChildProcess = fork(join(here, file), [], {
    execArgv: ['--import', 'tsx', ...execArgv],
    // The children's stderr (the server's audit lines among it) goes to a file: a pipe to a terminal
    // would make its synchronous writes the server's cost. stdout is not read.
    stdio: ['ignore', 'ignore', childLog, 'ipc'],
  });
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  const ready = new Promise<unknown>((resolve, reject) => waiting.set(0, { resolve, reject }));
  proc.on('message', (m: { id: number; value?: unknown; error?: string }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.error !== undefined) w?.reject(new Error(m.error));
    else w?.resolve(m.value);
  });
  proc.once('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`${file} exited (${code})`));
    waiting.clear();
  });
  return {
    proc,
    ready,
    ask<T>(request: object): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
        proc.send({ id, ...request });
      });
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/**
 * Runs one job in a load generator process of its own and waits for its figures; `onTimed` runs when its
 * timed part starts (after the warm-up).
 */
function inLoadGenerator(job: LoadJob, onTimed: () => Promise<void>): Promise<LoadDone> {
  return new Promise((resolve, reject) => {
    const proc = fork(join(here, 'http-load.ts'), [], { execArgv: ['--import', 'tsx'] });
    let timed: Promise<void> = Promise.resolve();
    proc.on('message', (m: LoadDone | { phase: 'timed' }) => {
      if ('phase' in m) timed = onTimed();
      else timed.then(() => resolve(m), reject);
    });
    proc.once('error', reject);
    proc.once('exit', (code) =>
      code === 0 ? undefined : reject(new Error(`load generator exited (${code})`)),
    );
    proc.send(job);
  });
}

type Sandbox = ReturnType<typeof child> & { description: SandboxDescription };

/** Starts the built server in its own process; BENCH_CPU_PROF profiles it. */
async function startServer(sandbox: Sandbox, stateless: boolean, name: string) {
  const prof = process.env.BENCH_CPU_PROF;
  const server = child('http-server.ts', [
    '--expose-gc',
    // A directory per server: tsx's loader thread writes a profile of its own beside the main thread's.
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${join(prof, name)}`] : []),
  ]);
  await server.ready;
  const d = sandbox.description;
  const input = configInputFor(d, 'data-accessor', {
    http: {
      auth: 'bearer',
      port: 0,
      resource: d.mcpResource,
      stateless,
      // Connections kept through the warm-up (each user's idle until the clock starts): an operator
      // behind a load balancer sets this above the balancer's idle timeout (docs/http.md).
      limits: { maxConcurrentPerUser: 64, maxCachedUsers: 100_000, keepAliveTimeoutSeconds: 120 },
    },
  });
  const url = await server.ask<string>({
    start: { input, stateless, baseCredentials: d.modes.dataAccessor.baseCredentials },
  });
  return {
    url,
    heap: () => server.ask<number>({ heap: true }),
    snapshot: (path: string) => server.ask<string>({ snapshot: path }),
    stats: () => server.ask<{ cachedUsers: number }>({ stats: true }),
    cpu: () => server.ask<number>({ cpu: true }),
    stop: async () => {
      const exited = new Promise((r) => server.proc.once('exit', r));
      await server.ask({ stop: true });
      await exited;
    },
  };
}

async function arm(sandbox: Sandbox, kind: 'raw' | 'stateful' | 'stateless', offset: number) {
  const server = kind === 'raw' ? undefined : await startServer(sandbox, kind === 'stateless', kind);
  const tokens = await sandbox.ask<string[]>({ tokens: [offset, users] });
  let done: LoadDone;
  let cached: number | undefined;
  // CPU of the server and the sandbox over the timed part (from the load generator's signal to its end).
  const cpuAt = async () => ({
    server: await server?.cpu(),
    sandbox: await sandbox.ask<number>({ cpu: true }),
  });
  let cpuStart: Awaited<ReturnType<typeof cpuAt>> | undefined;
  let cpuEnd: typeof cpuStart;
  try {
    done = await inLoadGenerator(
      {
        kind: server ? 'mcp' : 'raw',
        url: server?.url ?? '',
        tokens,
        callsPerUser,
        description: sandbox.description,
      },
      async () => void (cpuStart = await cpuAt()),
    );
    cpuEnd = await cpuAt();
    cached = server ? (await server.stats()).cachedUsers : undefined;
  } finally {
    await server?.stop();
  }
  const calls = done.latencies.length;
  const perCall = (end: number | undefined, start: number | undefined) =>
    end === undefined || start === undefined ? undefined : Math.round((end - start) / calls);
  const cpuMicrosPerCall = {
    loadGenerator: Math.round(done.cpuMicros / calls),
    server: perCall(cpuEnd?.server, cpuStart?.server),
    sandbox: perCall(cpuEnd?.sandbox, cpuStart?.sandbox),
  };
  const latencies = done.latencies.sort((a, b) => a - b);
  return {
    users,
    callsPerUser,
    calls: latencies.length,
    errors: done.errors,
    warmupErrors: done.warmupErrors,
    warmupSeconds: +done.warmupSeconds.toFixed(1),
    seconds: +done.seconds.toFixed(1),
    callsPerSecond: Math.round(latencies.length / done.seconds),
    latencyMs: {
      p50: +percentile(latencies, 50).toFixed(1),
      p90: +percentile(latencies, 90).toFixed(1),
      p99: +percentile(latencies, 99).toFixed(1),
      max: +latencies[latencies.length - 1]!.toFixed(1),
    },
    cpuMicrosPerCall,
    /** CPU-seconds all three processes spent per wall second: near the core count, the machine was the bound. */
    coresBusy: +(
      ((cpuMicrosPerCall.loadGenerator + (cpuMicrosPerCall.server ?? 0) + (cpuMicrosPerCall.sandbox ?? 0)) *
        (calls / done.seconds)) /
      1e6
    ).toFixed(2),
    ...(cached !== undefined ? { cachedUsers: cached } : {}),
    loadAverageAfter: loadavg().map((l) => +l.toFixed(2)),
  };
}

/**
 * Heap per cached user: the server process's heap (after full GCs) before and after `cachedUsers` more
 * users, each with one tool call (stateless, no sessions), divided by their number.
 */
const WARM_USERS = 100;

async function memoryPerUser(sandbox: Sandbox) {
  const server = await startServer(sandbox, true, 'memory');
  const call = async (token: string) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'search_relevant_content', arguments: { query: 'VPN' } },
      }),
    });
    const text = await res.text();
    if (!res.ok || text.includes('"isError":true'))
      throw new Error(`warm call failed: ${text.slice(0, 200)}`);
  };
  const calls = async (tokens: string[]) => {
    for (let i = 0; i < tokens.length; i += 20) await Promise.all(tokens.slice(i, i + 20).map(call));
  };
  // Warm code paths (and their JIT's code) with users of their own before the first measure.
  await calls(await sandbox.ask<string[]>({ tokens: [1_000_000, WARM_USERS] }));
  const tokens = await sandbox.ask<string[]>({ tokens: [2_000_000, cachedUsers] });
  const snapshots = process.env.BENCH_HEAP_SNAPSHOTS;
  if (snapshots) await server.snapshot(join(snapshots, 'before.heapsnapshot'));
  const before = await server.heap();
  await calls(tokens);
  const after = await server.heap();
  if (snapshots) await server.snapshot(join(snapshots, 'after.heapsnapshot'));
  const result = {
    cachedUsers: (await server.stats()).cachedUsers - WARM_USERS,
    heapBytesPerUser: Math.round((after - before) / cachedUsers),
    heapMiBTotal: +((after - before) / 1048576).toFixed(1),
  };
  await server.stop();
  return result;
}

async function main() {
  const sandboxChild = child('http-sandbox.ts');
  const sandbox: Sandbox = { ...sandboxChild, description: (await sandboxChild.ready) as SandboxDescription };
  try {
    if (process.env.BENCH_MEMORY_ONLY) {
      process.stdout.write(`${JSON.stringify(await memoryPerUser(sandbox))}\n`);
      return;
    }
    const only = process.env.BENCH_ARMS?.split(',') as Array<'raw' | 'stateful' | 'stateless'> | undefined;
    if (only) {
      for (const [i, kind] of only.entries())
        process.stdout.write(
          `${JSON.stringify({ kind, ...(await arm(sandbox, kind, 40_000 + i * users)) })}\n`,
        );
      return;
    }
    // Interleaved in pairs: each MCP arm against the raw arm just before it, on fresh users each time.
    const rawA = await arm(sandbox, 'raw', 0);
    const stateful = await arm(sandbox, 'stateful', 10_000);
    const rawB = await arm(sandbox, 'raw', 20_000);
    const stateless = await arm(sandbox, 'stateless', 30_000);
    const memory = await memoryPerUser(sandbox);
    const results = {
      benchmark: 'http-many-users',
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      // Other work on the machine skews every figure; the load average says how much.
      loadAverage: loadavg().map((l) => +l.toFixed(2)),
      setup:
        'bearer mode, data-accessor identity chain; sandbox, built server and load generator each in a process of its own; every user warmed up (exchange + one search) before the clock in both arms; pairs raw/stateful, raw/stateless',
      rawBeforeStateful: rawA,
      stateful,
      rawBeforeStateless: rawB,
      stateless,
      /** MCP calls/s over raw SDK calls/s of its pair; p99 over the pair's raw p99, in ms. */
      vsRaw: {
        statefulThroughput: +(stateful.callsPerSecond / rawA.callsPerSecond).toFixed(3),
        statelessThroughput: +(stateless.callsPerSecond / rawB.callsPerSecond).toFixed(3),
        statefulP99OverheadMs: +(stateful.latencyMs.p99 - rawA.latencyMs.p99).toFixed(1),
        statelessP99OverheadMs: +(stateless.latencyMs.p99 - rawB.latencyMs.p99).toFixed(1),
      },
      memory,
    };
    mkdirSync(join(here, 'results'), { recursive: true });
    writeFileSync(join(here, 'results', 'http-many-users.json'), `${JSON.stringify(results, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await sandbox.ask({ stop: true }).catch(() => undefined);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${String(e)}\n(the children's stderr: ${childLogPath})\n`);
  process.exitCode = 1;
});
