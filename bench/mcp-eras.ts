/**
 * @module Benchmark: the stdio tool-call overhead in each MCP protocol era, as interleaved pairs. Three
 * arms against the sandbox: the raw SDK SearchRelevantContent call (the baseline), the built server's
 * `search_relevant_content` through a 2025-11-25 client (initialize), and the same through a
 * 2026-07-28 client (no handshake, `_meta` envelope on every request), each over its own stdio server.
 * Every round runs a batch of each arm, in a rotating order, so machine drift hits all three alike;
 * a round's overhead is its arm's p50 minus the raw p50 of the same round. `whoami` (no Q call) is
 * the MCP + stdio floor, paired the same way; for it the run also sums the CPU each era costs per call,
 * in its server process (from /proc) and in this client, which tells the server's part from the SDK client's.
 * Two more `whoami` arms drive a server of each era with a client that only frames and parses JSON-RPC
 * lines (the 2026 one puts the envelope in `_meta`): the servers' own difference, no SDK client in it.
 *
 * Usage: npx tsx bench/mcp-eras.ts [--runs 3 --rounds 15 --batch 40 --warmup 30] (one sandbox and two
 * servers; each run is its own set of rounds, and the figures are given per run, for their spread).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startSandbox } from '../tools/sandbox/index.js';
import { ROOT, ensureBuilt } from '../tools/ensure-built.js';
import { benchServer, lineClient, QUERIES, rawSearch, type LineClient } from './stdio-server.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '15' },
    batch: { type: 'string', default: '40' },
    warmup: { type: 'string', default: '30' },
  },
});
const runs = Number(values.runs);
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const warmup = Number(values.warmup);

/** The `_meta` envelope of a 2026-07-28 request from the line client. */
/** Probes in place on its own child (the base class would spawn a second server for the probe). */
class InPlaceStdio extends StdioClientTransport {}

/**
 * A process's CPU time so far (ms, user + system, all threads), from /proc; undefined where there is
 * none. Ticks of 10 ms (Linux's USER_HZ), so only a batch's sum means anything.
 */
function processCpuMs(pid: number | null | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round2 = (x: number) => Number(x.toFixed(3));

async function p50Of(n: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

const [sandbox] = await Promise.all([startSandbox(), ensureBuilt()]);
const d = sandbox.description;
const clients: Client[] = [];

try {
  const raw = await rawSearch(d);

  const server = await benchServer(d, 'eras');
  const connect = async (era: 'legacy' | 'modern') => {
    const client = new Client(
      { name: 'bench', version: '1' },
      era === 'modern' ? { versionNegotiation: { mode: { pin: '2026-07-28' } } } : {},
    );
    const transport = new InPlaceStdio({
      command: process.execPath,
      args: server.args(),
      env: await server.env(),
      stderr: 'ignore',
    });
    await client.connect(transport);
    if (client.getProtocolEra() !== era) throw new Error(`connected in the ${client.getProtocolEra()} era`);
    clients.push(client);
    pids[era] = transport.pid;
    return client;
  };
  const pids: Record<string, number | null | undefined> = {};
  const eras = { legacy: await connect('legacy'), modern: await connect('modern') };
  // Each era's server again, driven by a client that only frames and parses JSON-RPC lines: the
  // servers' own difference, without the SDK client's per-era work.
  const lines = {
    legacy: await lineClient('legacy', server.args(), await server.env()),
    modern: await lineClient('modern', server.args(), await server.env()),
  };
  pids.lineLegacy = lines.legacy.pid;
  pids.lineModern = lines.modern.pid;
  /** Whose CPU each arm spends besides this process's: its era's server. */
  const serverOf: Record<string, string | undefined> = {
    legacy: 'legacy',
    modern: 'modern',
    legacyWhoami: 'legacy',
    modernWhoami: 'modern',
    lineLegacy: 'lineLegacy',
    lineModern: 'lineModern',
    lineLegacyWhoami: 'lineLegacy',
    lineModernWhoami: 'lineModern',
  };
  const search = (c: Client) => (i: number) =>
    c.callTool({
      name: 'search_relevant_content',
      arguments: { query: QUERIES[i % QUERIES.length], maxResults: 10 },
    });
  const whoami = (c: Client) => () => c.callTool({ name: 'whoami', arguments: {} });
  const lineSearch = (c: LineClient) => (i: number) =>
    c.call('tools/call', {
      name: 'search_relevant_content',
      arguments: { query: QUERIES[i % QUERIES.length], maxResults: 10 },
    });
  const arms: Record<string, (i: number) => Promise<unknown>> = {
    raw: raw.search,
    legacy: search(eras.legacy),
    modern: search(eras.modern),
    legacyWhoami: whoami(eras.legacy),
    modernWhoami: whoami(eras.modern),
    lineLegacy: lineSearch(lines.legacy),
    lineModern: lineSearch(lines.modern),
    lineLegacyWhoami: () => lines.legacy.call('tools/call', { name: 'whoami', arguments: {} }),
    lineModernWhoami: () => lines.modern.call('tools/call', { name: 'whoami', arguments: {} }),
  };
  for (const fn of Object.values(arms)) await p50Of(warmup, fn);

  const names = Object.keys(arms);
  /** CPU per call of each whoami arm (µs), summed over a run: the server's and this client's. */
  type Cpu = { server: number; client: number; calls: number };
  /** One run: `rounds` rounds of every arm in a rotating order; the figures of each round, paired. */
  const measure = async (run: number) => {
    const perRound: Array<Record<string, number>> = [];
    const cpu: Record<string, Cpu> = {
      legacyWhoami: { server: 0, client: 0, calls: 0 },
      modernWhoami: { server: 0, client: 0, calls: 0 },
      lineLegacyWhoami: { server: 0, client: 0, calls: 0 },
      lineModernWhoami: { server: 0, client: 0, calls: 0 },
    };
    for (let r = 0; r < rounds; r++) {
      const order = names.map((_, k) => names[(k + r) % names.length]!);
      const p50: Record<string, number> = {};
      for (const name of order) {
        const era = serverOf[name];
        const server0 = era ? processCpuMs(pids[era]) : undefined;
        const client0 = process.cpuUsage();
        p50[name] = await p50Of(batch, arms[name]!);
        const server1 = era ? processCpuMs(pids[era]) : undefined;
        const spent = cpu[name];
        if (spent && server0 !== undefined && server1 !== undefined) {
          const client = process.cpuUsage(client0);
          spent.server += (server1 - server0) * 1000;
          spent.client += client.user + client.system;
          spent.calls += batch;
        }
      }
      perRound.push(p50);
      process.stderr.write(
        `run ${run + 1} round ${r + 1}/${rounds}: raw ${p50.raw!.toFixed(2)} · legacy +${(p50.legacy! - p50.raw!).toFixed(2)} · modern +${(p50.modern! - p50.raw!).toFixed(2)} ms\n`,
      );
    }
    const overhead = (era: 'legacy' | 'modern') => perRound.map((p) => p[era]! - p.raw!);
    return {
      /** p50 of the raw SDK SearchRelevantContent (ms), median over the rounds. */
      rawP50Ms: round2(median(perRound.map((p) => p.raw!))),
      /** The MCP tool call's p50 minus the raw call's p50 of the same round (ms), median over the rounds. */
      overheadMs: { legacy: round2(median(overhead('legacy'))), modern: round2(median(overhead('modern'))) },
      /** Modern overhead minus legacy overhead, per round (ms), median: <= 0 means the new era is not slower. */
      modernMinusLegacyMs: round2(median(perRound.map((p) => p.modern! - p.legacy!))),
      /** whoami (no Q call) p50, modern / legacy, median over the rounds. */
      whoamiRatio: round2(median(perRound.map((p) => p.modernWhoami! / p.legacyWhoami!))),
      /** whoami p50 (ms) per era, median over the rounds. */
      whoamiP50Ms: {
        legacy: round2(median(perRound.map((p) => p.legacyWhoami!))),
        modern: round2(median(perRound.map((p) => p.modernWhoami!))),
      },
      /** CPU per whoami call over the run (µs): the era's server process and the bench's client. */
      whoamiCpuUs: cpuPerCall(cpu, (era) => `${era}Whoami`),
      /** The same paired difference through the line client (no SDK client): the servers' part (ms). */
      lineModernMinusLegacyMs: round2(median(perRound.map((p) => p.lineModern! - p.lineLegacy!))),
      /** whoami through the line client (no SDK client): p50 modern / legacy, median over the rounds. */
      lineWhoamiRatio: round2(median(perRound.map((p) => p.lineModernWhoami! / p.lineLegacyWhoami!))),
      lineWhoamiP50Ms: {
        legacy: round2(median(perRound.map((p) => p.lineLegacyWhoami!))),
        modern: round2(median(perRound.map((p) => p.lineModernWhoami!))),
      },
      /** CPU per line-client whoami call (µs): the era's server process and the line client. */
      lineWhoamiCpuUs: cpuPerCall(cpu, (era) => `line${era === 'legacy' ? 'Legacy' : 'Modern'}Whoami`),
    };
  };
  const cpuPerCall = (cpu: Record<string, Cpu>, arm: (era: 'legacy' | 'modern') => string) =>
    Object.fromEntries(
      (['legacy', 'modern'] as const).map((era) => {
        const c = cpu[arm(era)]!;
        return [
          era,
          c.calls ? { server: Math.round(c.server / c.calls), client: Math.round(c.client / c.calls) } : null,
        ];
      }),
    );
  const measured = [];
  for (let run = 0; run < runs; run++) measured.push(await measure(run));
  raw.destroy();
  lines.legacy.close();
  lines.modern.close();

  const result = {
    benchmark: 'mcp-eras',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadavg().map(round2),
    runs: measured,
    rounds,
    batch,
  };
  process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/mcp-eras.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await sandbox.stop();
}
