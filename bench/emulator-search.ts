/**
 * @module Benchmark: SearchRelevantContent calls per second against the sandbox's Q emulator, with
 * the real SDK over one keep-alive HTTP/2 loopback connection. The sandbox runs in its own process
 * (as `npm run sandbox` starts it), so its CPU time per call gives the one-core capacity.
 *
 * Two transports are measured: `keep-alive` (one HTTP/2 session, concurrent streams) and `sdk-default`
 * (the qbusiness client's own default, `disableConcurrentStreams: true`: a new connection per call).
 *
 * Usage: npm run bench:emulator [-- --calls 5000 --concurrency 16 --warmup 300]
 */
import { spawn } from 'node:child_process';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cpus, loadavg } from 'node:os';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import { sessionFor, type UserSession } from '../test/helpers/credentials.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '16' },
    warmup: { type: 'string', default: '300' },
  },
});
const calls = Number(values.calls);
const concurrency = Number(values.concurrency);
const warmup = Number(values.warmup);

const QUERIES = [
  'what is the travel reimbursement limit',
  'on-call escalation',
  'how do I connect to the VPN',
  'parental leave weeks',
  'deploy freeze end of quarter',
  'expense report receipts deadline',
  'security key MFA enrollment',
  'payments-api card processor timeout',
];

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

async function startSandboxProcess() {
  const nodeArgs = (process.env.BENCH_SANDBOX_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', join(root, 'tools/sandbox/main.ts')],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return { child, description: JSON.parse(line) as SandboxDescription };
}

async function run(users: UserSession[], count: number, latencies?: number[]) {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const s = users[i % users.length]!;
      const t0 = performance.now();
      const out = await s.q.send(
        new SearchRelevantContentCommand({
          applicationId: s.applicationId,
          queryText: QUERIES[i % QUERIES.length],
          contentSource: { retriever: { retrieverId: s.retrieverId } },
          maxResults: 10,
        }),
      );
      if (!out.relevantContent) throw new Error('no relevantContent in the answer');
      latencies?.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

type Transport = 'keep-alive' | 'sdk-default';

/** Warm-up, then `calls` searches from `concurrency` callers; CPU of both processes over the timed part. */
async function measure(child: ReturnType<typeof spawn>, base: UserSession[], transport: Transport) {
  const users = base.map((u) => ({
    ...u,
    q:
      transport === 'keep-alive'
        ? new QBusinessClient({
            endpoint,
            region,
            credentials: u.credentials,
            maxAttempts: 1,
            requestHandler: { disableConcurrentStreams: false },
          })
        : u.q,
  }));
  await run(users, warmup);
  const latencies: number[] = [];
  const emulatorCpu0 = cpuSeconds(child.pid!);
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(users, calls, latencies);
  const seconds = (performance.now() - t0) / 1000;
  const emulatorCpu = cpuSeconds(child.pid!) - emulatorCpu0;
  const clientUsage = process.cpuUsage(clientCpu0);
  latencies.sort((a, b) => a - b);
  return {
    transport,
    seconds: Number(seconds.toFixed(3)),
    callsPerSecond: Math.round(calls / seconds),
    latencyMs: {
      p50: Number(pct(latencies, 50).toFixed(2)),
      p90: Number(pct(latencies, 90).toFixed(2)),
      p99: Number(pct(latencies, 99).toFixed(2)),
    },
    emulatorCpuSeconds: Number(emulatorCpu.toFixed(2)),
    /** What one core of emulator can serve: calls per CPU-second the sandbox process used. */
    emulatorCallsPerCpuSecond: emulatorCpu > 0 ? Math.round(calls / emulatorCpu) : null,
    clientCpuSeconds: Number(((clientUsage.user + clientUsage.system) / 1e6).toFixed(2)),
  };
}

let endpoint = '';
let region = '';
const { child, description } = await startSandboxProcess();
try {
  endpoint = description.awsEndpoint;
  region = description.qRegion;
  const users = await Promise.all(
    ['alice', 'bob', 'carol'].map((u) => sessionFor({ description }, u, 'idc')),
  );
  const runs = [await measure(child, users, 'keep-alive'), await measure(child, users, 'sdk-default')];
  const result = {
    benchmark: 'emulator-search',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage1m: Number(loadavg()[0]!.toFixed(2)),
    calls,
    concurrency,
    warmup,
    runs,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/emulator-search.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify(result, null, 2));
} finally {
  child.kill('SIGTERM');
}
