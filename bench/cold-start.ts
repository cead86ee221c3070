/**
 * @module Benchmark: cold start over stdio, as interleaved pairs. Each pair spawns the built CLI
 * (`node dist/src/cli.js serve`) and the minimal one-tool server of bench/minimal-server.mjs (same MCP
 * SDK, same serveStdio entry), in alternating order, and times with raw JSON-RPC lines:
 * - spawn → the `initialize` response;
 * - spawn → the first tool result: `search_relevant_content` (sign-in refresh, identity exchange and the
 *   Q call included) against the minimal server's `echo`.
 * The load generator (this process, with the sandbox) is separate from both servers.
 *
 * Usage: npx tsx bench/cold-start.ts [--runs 3 --pairs 15] [--cli <file>] [--cpu-prof <dir>]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSandbox } from '../tools/sandbox/index.js';
import { ROOT, ensureBuilt } from '../tools/ensure-built.js';
import { benchServer } from './stdio-server.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    pairs: { type: 'string', default: '15' },
    /** Another build of the CLI to time (default the built dist/src/cli.js). */
    cli: { type: 'string' },
    /** Write a V8 CPU profile of each qindex-mcp start into this directory (timings then include it). */
    'cpu-prof': { type: 'string' },
  },
});
const runs = Number(values.runs);
const pairs = Number(values.pairs);
const MINIMAL = join(ROOT, 'bench/minimal-server.mjs');
const profileFlags = values['cpu-prof']
  ? ['--cpu-prof', '--cpu-prof-interval', '200', '--cpu-prof-dir', values['cpu-prof']]
  : [];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const r3 = (x: number) => Number(x.toFixed(3));

const line = (message: object) => `${JSON.stringify(message)}\n`;
const INITIALIZE = line({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'bench', version: '1' } },
});

interface Timing {
  initializeMs: number;
  firstResultMs: number;
}

/** Spawns one server, sends initialize at once, then the tool call as soon as initialize is answered. */
function coldStart(args: string[], env: NodeJS.ProcessEnv, call: object): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let initializeMs = 0;
    let buffer = '';
    child.on('error', reject);
    child.on('exit', (code) => {
      if (!initializeMs) reject(new Error(`server exited (${code}) before answering`));
    });
    child.stdin.write(INITIALIZE);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
        const message = JSON.parse(buffer.slice(0, i)) as { id?: number; result?: { isError?: boolean } };
        buffer = buffer.slice(i + 1);
        if (message.id === 1) {
          initializeMs = performance.now() - t0;
          child.stdin.write(line({ jsonrpc: '2.0', method: 'notifications/initialized' }));
          child.stdin.write(line({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: call }));
        } else if (message.id === 2) {
          const firstResultMs = performance.now() - t0;
          child.stdin.end();
          if (!message.result || message.result.isError) {
            reject(new Error(`tool call failed: ${JSON.stringify(message).slice(0, 300)}`));
          } else resolve({ initializeMs, firstResultMs });
        }
      }
    });
  });
}

const sandbox = await startSandbox();
await ensureBuilt();
const d = sandbox.description;
try {
  const server = await benchServer(d, 'cold');
  const qindex = async () =>
    coldStart([...profileFlags, ...server.args(values.cli)], await server.env(), {
      name: 'search_relevant_content',
      arguments: { query: 'travel reimbursement limit', maxResults: 10 },
    });
  const minimal = () =>
    coldStart([MINIMAL], { PATH: process.env.PATH ?? '' }, { name: 'echo', arguments: { text: 'hi' } });

  // Warm the file cache and the sandbox (first exchange, first search) before timing.
  for (let i = 0; i < 3; i++) await Promise.all([qindex(), minimal()].map((p) => p));
  const measured = [];
  for (let run = 0; run < runs; run++) {
    const rows: Array<{ qindex: Timing; minimal: Timing }> = [];
    for (let i = 0; i < pairs; i++) {
      // Alternate who goes first, so that drift and cache effects hit both alike.
      const first = (i + run) % 2 === 0;
      const a = first ? await qindex() : await minimal();
      const b = first ? await minimal() : await qindex();
      rows.push(first ? { qindex: a, minimal: b } : { qindex: b, minimal: a });
      process.stderr.write(
        `run ${run + 1} pair ${i + 1}/${pairs}: initialize ${(rows.at(-1)!.qindex.initializeMs / rows.at(-1)!.minimal.initializeMs).toFixed(2)}× · first result ${(rows.at(-1)!.qindex.firstResultMs / rows.at(-1)!.minimal.firstResultMs).toFixed(2)}×\n`,
      );
    }
    measured.push({
      qindexInitializeMs: r3(median(rows.map((r) => r.qindex.initializeMs))),
      minimalInitializeMs: r3(median(rows.map((r) => r.minimal.initializeMs))),
      /** Median of the per-pair ratios, qindex-mcp / minimal. */
      initializeRatio: r3(median(rows.map((r) => r.qindex.initializeMs / r.minimal.initializeMs))),
      qindexFirstSearchMs: r3(median(rows.map((r) => r.qindex.firstResultMs))),
      minimalFirstEchoMs: r3(median(rows.map((r) => r.minimal.firstResultMs))),
      firstResultRatio: r3(median(rows.map((r) => r.qindex.firstResultMs / r.minimal.firstResultMs))),
      loadAverage: loadavg().map(r3),
    });
  }
  const result = {
    benchmark: 'cold-start',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    pairs,
    runs: measured,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/cold-start.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await sandbox.stop();
}
