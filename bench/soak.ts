/**
 * @module Soak: well-formed tool calls for a long while, counting errors and watching memory. Over stdio,
 * one built server per sandbox IdC user (each its own process, signed in as that user); over Streamable
 * HTTP, one server in bearer mode serving many users (distinct subjects, each with a bearer token and a
 * session). The load generator and the sandbox share this process; every server runs in its own, with
 * bench/fuzz/heap-probe.mjs preloaded. RSS is read from /proc every N calls (no GC forced, for the trend);
 * RSS and heap after a full GC once after the warm-up and once at the end, and "flat" is the RSS after GC
 * within --margin of its warm-up figure. Writes bench/results/soak.json.
 *
 * Usage: npm run bench:soak [-- --stdio 50000 --http 20000 --users 200 --concurrency 8 --warmup 0.1 --log-level info]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSandbox, type Sandbox } from '../tools/sandbox/index.js';
import { ROOT, ensureBuilt } from '../tools/ensure-built.js';
import { createCanaryScanner, type CanaryScanner } from './fuzz/canary.js';
import { HttpTarget } from './fuzz/http-target.js';
import { mib } from './fuzz/run.js';
import type { HeapSample, LogLevel } from './fuzz/server-process.js';
import { StdioTarget } from './fuzz/stdio-target.js';

const { values } = parseArgs({
  options: {
    stdio: { type: 'string', default: '50000' },
    http: { type: 'string', default: '20000' },
    users: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '0.1' },
    samples: { type: 'string', default: '20' },
    margin: { type: 'string', default: '0.1' },
    out: { type: 'string', default: 'bench/results/soak.json' },
    'log-level': { type: 'string', default: 'info' },
  },
});
const logLevel = values['log-level'] as LogLevel;
const say = (line: string) => process.stderr.write(`${line}\n`);
const QUERIES = [
  'VPN connection',
  'travel reimbursement limit',
  'security key enrollment',
  'expense policy',
  'laptop setup',
  'on-call escalation',
  'parental leave',
  'office guide Dublin',
];

interface Sample {
  calls: number;
  rss: number;
}

interface LegResult {
  calls: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  errors: number;
  errorSamples: string[];
  seconds: number;
  callsPerSecond: number;
  processes: number;
  users: number;
  /** RSS from /proc every N calls (no GC forced: noisy, for the trend). */
  rss: Sample[];
  /** RSS after a full GC (sum over the leg's processes) after the warm-up and at the end; growth = end / warm - 1. */
  rssAfterWarmup: number;
  rssEnd: number;
  rssGrowth: number;
  heapAfterWarmup: number;
  heapEnd: number;
  heapGrowth: number;
  crashes: number;
}

/** Resident set size of a process, from /proc (no GC, no signal: the server does not notice). */
function rssOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const pages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
    return pages * 4096;
  } catch {
    return 0;
  }
}

/**
 * Runs `total` calls with `concurrency` workers; `call(i)` returns an error text or undefined. Samples RSS
 * `samples` times, and the heap after GC once the warm-up share of calls is done.
 */
async function drive(
  total: number,
  concurrency: number,
  call: (i: number) => Promise<string | undefined>,
  o: { pids: () => Array<number | undefined>; heap: () => Promise<HeapSample[]>; label: string },
): Promise<Omit<LegResult, 'processes' | 'users' | 'crashes'>> {
  const warmCalls = Math.floor(total * Number(values.warmup));
  const every = Math.max(1, Math.floor(total / Number(values.samples)));
  const rss: Sample[] = [];
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let next = 0;
  let done = 0;
  let errors = 0;
  let heapWarm = 0;
  let rssWarm = 0;
  let warmPending: Promise<void> | undefined;
  const started = performance.now();
  const sumRss = () => o.pids().reduce<number>((s, pid) => s + rssOf(pid), 0);
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const t0 = performance.now();
      const error = await call(i).catch((e: unknown) => (e as Error).message);
      latencies.push(performance.now() - t0);
      if (error) {
        errors++;
        if (errorSamples.length < 10) errorSamples.push(`#${i}: ${error.slice(0, 300)}`);
      }
      done++;
      if (done % every === 0) {
        rss.push({ calls: done, rss: sumRss() });
        say(`${o.label}: ${done}/${total} calls, ${errors} errors, RSS ${mib(rss.at(-1)!.rss)}`);
      }
      if (done === warmCalls && !warmPending) {
        // RSS after a full GC: a sample between collections holds whatever garbage the young space has.
        warmPending = o.heap().then((h) => {
          heapWarm = h.reduce((s, x) => s + x.heapUsed, 0);
          rssWarm = h.reduce((s, x) => s + x.rss, 0);
        });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await warmPending;
  const seconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const end = await o.heap();
  const rssEnd = end.reduce((s, x) => s + x.rss, 0);
  const heapEnd = end.reduce((s, x) => s + x.heapUsed, 0);
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]! * 10) / 10;
  return {
    calls: done,
    latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: pct(1) },
    errors,
    errorSamples,
    seconds: Math.round(seconds),
    callsPerSecond: Math.round(done / seconds),
    rss,
    rssAfterWarmup: rssWarm,
    rssEnd,
    rssGrowth: Math.round((rssEnd / rssWarm - 1) * 1000) / 1000,
    heapAfterWarmup: heapWarm,
    heapEnd,
    heapGrowth: Math.round((heapEnd / heapWarm - 1) * 1000) / 1000,
  };
}

const isToolError = (r: unknown) => (r as { isError?: boolean }).isError === true;
const toolText = (r: unknown) => ((r as { content?: Array<{ text?: string }> }).content ?? [])[0]?.text ?? '';

async function stdioLeg(sandbox: Sandbox, canaries: CanaryScanner, total: number): Promise<LegResult> {
  const people = sandbox.world.users.filter((u) => u.inIdentityCenter).map((u) => u.username);
  const targets = people.map((username) => new StdioTarget(sandbox, { canaries, username, logLevel }));
  await Promise.all(targets.map((t) => t.ensure()));
  const concurrency = Number(values.concurrency) * targets.length;
  const result = await drive(
    total,
    concurrency,
    async (i) => {
      const t = targets[i % targets.length]!;
      const r =
        i % 10 === 9
          ? await t.request('tools/call', { name: 'whoami', arguments: {} })
          : await t.request('tools/call', {
              name: 'search_relevant_content',
              arguments: { query: QUERIES[i % QUERIES.length], maxResults: 5 },
            });
      return isToolError(r) ? toolText(r) : undefined;
    },
    {
      pids: () => targets.map((t) => t.process?.child.pid),
      heap: () => Promise.all(targets.map((t) => t.heap())),
      label: 'stdio',
    },
  );
  const crashes =
    targets.filter((t) => t.process?.exit()).length + targets.reduce((s, t) => s + t.stats.restarts, 0);
  await Promise.all(targets.map((t) => t.stop()));
  return { ...result, processes: targets.length, users: targets.length, crashes };
}

async function httpLeg(
  sandbox: Sandbox,
  canaries: CanaryScanner,
  total: number,
  users: number,
): Promise<LegResult> {
  const t = new HttpTarget(sandbox, {
    canaries,
    users,
    logLevel,
    limits: { maxSessionsPerUser: 4, maxCachedUsers: Math.max(1000, users * 2) },
  });
  await t.ensure();
  for (let u = 0; u < users; u++) await t.session(u);
  const result = await drive(
    total,
    Number(values.concurrency) * 2,
    async (i) => {
      const u = i % users;
      const r =
        i % 10 === 9
          ? await t.call(u, 'tools/call', { name: 'whoami', arguments: {} })
          : await t.call(u, 'tools/call', {
              name: 'search_relevant_content',
              arguments: { query: QUERIES[(i + u) % QUERIES.length], maxResults: 5 },
            });
      return isToolError(r) ? toolText(r) : undefined;
    },
    { pids: () => [t.process?.child.pid], heap: async () => [await t.heap()], label: 'http' },
  );
  const crashes = (t.process?.exit() ? 1 : 0) + t.stats.restarts;
  await t.stop();
  return { ...result, processes: 1, users, crashes };
}

await ensureBuilt();
const sandbox = await startSandbox();
const canaries = createCanaryScanner();
const load0 = loadavg();
try {
  say(`soak: ${values.stdio} calls over stdio, ${values.http} over HTTP across ${values.users} users`);
  const stdio = await stdioLeg(sandbox, canaries, Number(values.stdio));
  const load1 = loadavg();
  const http = await httpLeg(sandbox, canaries, Number(values.http), Number(values.users));
  const margin = Number(values.margin);
  const flat = (l: LegResult) => l.rssGrowth <= margin;
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadavg: { start: load0, afterStdio: load1, end: loadavg() },
    rssMargin: margin,
    stdio: { ...stdio, rssFlat: flat(stdio) },
    http: { ...http, rssFlat: flat(http) },
    canaries: canaries.count(),
    canaryHits: canaries.hits,
    ok:
      stdio.errors + http.errors + stdio.crashes + http.crashes === 0 &&
      flat(stdio) &&
      flat(http) &&
      !canaries.hits.length,
  };
  const path = join(ROOT, values.out!);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  for (const [name, l] of [
    ['stdio', stdio],
    ['http', http],
  ] as const) {
    say(
      `${name}: ${l.calls} calls (${l.users} users, ${l.processes} processes) in ${l.seconds} s, ${l.callsPerSecond}/s, latency ${JSON.stringify(l.latencyMs)} ms, ${l.errors} errors, ${l.crashes} crashes; RSS after GC, after warm-up ${mib(l.rssAfterWarmup)} → end ${mib(l.rssEnd)} (${(l.rssGrowth * 100).toFixed(1)} %); heap after GC ${mib(l.heapAfterWarmup)} → ${mib(l.heapEnd)} (${(l.heapGrowth * 100).toFixed(1)} %)`,
    );
    for (const e of l.errorSamples) say(`  error ${e}`);
  }
  say(
    `canary hits ${canaries.hits.length}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${report.loadavg.end.map((x) => x.toFixed(2)).join(' ')}`,
  );
  say(report.ok ? 'OK' : 'FAILED');
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await sandbox.stop();
}
