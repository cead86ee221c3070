/**
 * @module The fuzz run: both targets (stdio and HTTP bearer mode, each the built server in its own
 * process), arbitraries from the schemas the servers publish, a warm-up, the heap after a full GC, the
 * seeded fast-check runs side by side, the heap again. `assert` mode stops at the first failing case and
 * shrinks it (the CI slice); `collect` mode runs every case, counts what failed, then replays the first
 * failure of each kind by its fast-check path to shrink it (the long run).
 */
import { loadavg } from 'node:os';
import fc from 'fast-check';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { createCanaryScanner, type CanaryHit } from './canary.js';
import { caseArbitraries, type Msg, type Payload } from './jsonrpc-cases.js';
import { HANGUP_SHAPES, httpCaseArbitrary, type HttpCase } from './http-cases.js';
import { HttpTarget, type HttpStats } from './http-target.js';
import { heapBreakdown, type HeapBreakdown } from './heap-snapshot.js';
import type { HeapSample, LogLevel } from './server-process.js';
import { StdioTarget, type TargetStats, type Verdict } from './stdio-target.js';

export interface FuzzOptions {
  seed: number;
  stdioCases: number;
  httpCases: number;
  mode: 'assert' | 'collect';
  /** Cases per target before the first heap sample (default 300). */
  warmup?: number;
  timeoutMs?: number;
  logLevel?: LogLevel;
  /** Weight of multi-MiB lines (default 1 of about 680). */
  hugeWeight?: number;
  /** Limit for shrinking one failure (default 120 s). */
  shrinkSeconds?: number;
  /** Leave out the HTTP cases whose client hangs up early (a control run for the slot leak). */
  noHangups?: boolean;
  /** Growth allowed of the heap without compiled code between the samples (default 0.10). */
  heapMargin?: number;
  progress?: (line: string) => void;
}

export interface HeapFigures {
  start: HeapSample;
  end: HeapSample;
  /** end.heapUsed / start.heapUsed - 1 (V8's figure, compiled code included) */
  growth: number;
  /** The same heap from snapshots, split into compiled code and the rest (see heap-snapshot.ts). */
  startSnapshot: HeapBreakdown;
  endSnapshot: HeapBreakdown;
  /** endSnapshot.nonCode / startSnapshot.nonCode - 1: the oracle (a leak shows here). */
  nonCodeGrowth: number;
  /** The server restarted during the run (after a crash): the samples are of different processes. */
  restarted: boolean;
}

export interface TrendPoint {
  cases: number;
  heapUsed: number;
  rss: number;
}

export interface Failure {
  target: 'stdio' | 'http';
  /** fast-check run index: replay with { seed, path }. */
  path: string;
  seed: number;
  problems: string[];
  counterexample: unknown;
  shrunk?: { counterexample: unknown; problems: string[]; path: string; numShrinks: number };
}

export interface FuzzReport {
  ok: boolean;
  seed: number;
  seeds: { stdio: number; http: number };
  mode: FuzzOptions['mode'];
  cases: { stdio: number; http: number; total: number };
  durationSeconds: number;
  loadavg: { start: number[]; end: number[] };
  stdio: TargetStats & { heap?: HeapFigures };
  http: HttpStats & { heap?: HeapFigures };
  /** Heap after GC every tenth of the run (collect mode). */
  heapTrend: { stdio: TrendPoint[]; http: TrendPoint[] };
  canaries: number;
  canaryHits: CanaryHit[];
  failures: Failure[];
  /** Problems not tied to one case (heap, canaries). */
  problems: string[];
  samples: { stdio: Record<string, string[]>; http: Record<string, string[]> };
  node: string;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

export async function runFuzz(sandbox: Sandbox, o: FuzzOptions): Promise<FuzzReport> {
  const log = o.progress ?? (() => undefined);
  const started = performance.now();
  const load0 = loadavg();
  const canaries = createCanaryScanner();
  const targetOptions = { canaries, logLevel: o.logLevel ?? 'debug', timeoutMs: o.timeoutMs ?? 30_000 };
  const stdio = new StdioTarget(sandbox, targetOptions);
  const http = new HttpTarget(sandbox, targetOptions);
  try {
    await Promise.all([stdio.ensure(), http.ensure()]);
    const pools = await idPools(stdio);
    const schemaOptions = { breakWeight: 1, exactlyOne: ['AttributeFilter'], pools };
    const weights = o.hugeWeight !== undefined ? { huge: o.hugeWeight } : {};
    const stdioArb = caseArbitraries(stdio.tools, schemaOptions, weights).payload;
    const httpArb = httpCaseArbitrary(
      caseArbitraries(http.tools, schemaOptions, weights),
      http.users.length,
      http.badTokenNames,
      o.noHangups ? HANGUP_SHAPES : [],
    );
    const seeds = { stdio: o.seed, http: (o.seed + 1) | 0 };

    // Warm-up (its own seed): code paths compiled, bounded caches (sessions, users) at their steady size.
    const warm = o.warmup ?? 300;
    await Promise.all([
      drive(stdioArb, (p) => stdio.runCase(p, 'warm-up'), { seed: seeds.stdio ^ 0x5a5a, numRuns: warm }),
      drive(httpArb, (c) => http.runCase(c, 'warm-up'), { seed: seeds.http ^ 0x5a5a, numRuns: warm }),
    ]);
    const restartsBefore = { stdio: stdio.stats.restarts, http: http.stats.restarts };
    const casesBefore = { stdio: stdio.stats.cases, http: http.stats.cases };
    const [stdioHeap0, httpHeap0] = await Promise.all([stdio.heap(), http.heap()]);
    const [stdioSnap0, httpSnap0] = await Promise.all([
      heapBreakdown(stdio.process!, 'stdio'),
      heapBreakdown(http.process!, 'http'),
    ]);
    log(
      `heap after warm-up: stdio ${mib(stdioHeap0.heapUsed)} (${mib(stdioSnap0.nonCode)} without compiled code), http ${mib(httpHeap0.heapUsed)} (${mib(httpSnap0.nonCode)})`,
    );

    const failures: Failure[] = [];
    const trend: FuzzReport['heapTrend'] = { stdio: [], http: [] };
    const runTarget = async <T>(
      target: 'stdio' | 'http',
      arb: fc.Arbitrary<T>,
      run: (value: T, label: string) => Promise<Verdict>,
      seed: number,
      numRuns: number,
      examples: T[],
    ) => {
      let index = 0;
      const seen = new Set<string>();
      const every = Math.max(1, Math.floor(numRuns / 10));
      // Shrinking runs real cases (some wait out timeouts): past the limit, stop looking for smaller ones.
      const shrinkMs = (o.shrinkSeconds ?? 120) * 1000;
      let firstFailure: number | undefined;
      const details = await fc.check(
        fc.asyncProperty(arb, async (value) => {
          if (firstFailure !== undefined && performance.now() - firstFailure > shrinkMs) return true;
          const i = index++;
          if (i % every === 0 && i > 0 && o.mode === 'collect') {
            const h = await (target === 'stdio' ? stdio : http).heap().catch(() => undefined);
            if (h) trend[target].push({ cases: i, heapUsed: h.heapUsed, rss: h.rss });
            log(`${target}: ${i}/${numRuns}, heap after GC ${h ? mib(h.heapUsed) : '?'}`);
          }
          const v = await run(value, `${target} #${i}`);
          if (o.mode === 'assert') {
            if (!v.ok) firstFailure ??= performance.now();
            return v.ok;
          }
          if (v.ok) return true;
          const kind = problemKind(v.problems);
          if (failures.filter((f) => f.target === target).length < 50) {
            failures.push({ target, path: String(i), seed, problems: v.problems, counterexample: value });
          }
          if (!seen.has(kind)) {
            seen.add(kind);
            log(`${target} #${i} failed: ${v.problems[0]?.slice(0, 300)}`);
          }
          return true;
        }),
        // The known inputs first (fast-check runs examples before generated cases).
        { seed, numRuns, examples: examples.map((e) => [e] as [T]) },
      );
      if (o.mode === 'assert' && details.failed) {
        const last = await run(details.counterexample![0] as T, `${target} shrunk`);
        failures.push({
          target,
          path: details.counterexamplePath ?? '',
          seed,
          problems: last.problems.length ? last.problems : [String(details.errorInstance ?? 'failed')],
          counterexample: details.counterexample![0],
          shrunk: {
            counterexample: details.counterexample![0],
            problems: last.problems,
            path: details.counterexamplePath ?? '',
            numShrinks: details.numShrinks,
          },
        });
      }
    };
    await Promise.all([
      runTarget<Payload>(
        'stdio',
        stdioArb,
        (p, l) => stdio.runCase(p, l),
        seeds.stdio,
        o.stdioCases,
        STDIO_EXAMPLES,
      ),
      runTarget<HttpCase>(
        'http',
        httpArb,
        (c, l) => http.runCase(c, l),
        seeds.http,
        o.httpCases,
        HTTP_EXAMPLES,
      ),
    ]);

    // Collect mode: shrink the first failure of each kind by replaying its fast-check path.
    if (o.mode === 'collect') {
      const kinds = new Set<string>();
      for (const f of failures) {
        const kind = `${f.target}:${problemKind(f.problems)}`;
        if (kinds.has(kind) || kinds.size >= 6) continue;
        kinds.add(kind);
        const target = f.target === 'stdio' ? stdio : http;
        const arb = (f.target === 'stdio' ? stdioArb : httpArb) as fc.Arbitrary<unknown>;
        const examples = (f.target === 'stdio' ? STDIO_EXAMPLES : HTTP_EXAMPLES) as unknown[];
        const details = await fc.check(
          fc.asyncProperty(arb, async (v) => (await target.runCase(v as never, `${f.target} replay`)).ok),
          {
            seed: f.seed,
            path: f.path,
            numRuns: 1,
            examples: examples.map((e) => [e]),
            interruptAfterTimeLimit: (o.shrinkSeconds ?? 120) * 1000,
          },
        );
        if (details.failed) {
          const value = details.counterexample![0];
          const again = await target.runCase(value as never, `${f.target} shrunk`);
          f.shrunk = {
            counterexample: value,
            problems: again.problems,
            path: details.counterexamplePath ?? f.path,
            numShrinks: details.numShrinks,
          };
        } else {
          f.shrunk = {
            counterexample: f.counterexample,
            problems: ['did not fail again when replayed alone'],
            path: f.path,
            numShrinks: 0,
          };
        }
      }
    }

    await new Promise((r) => setTimeout(r, 1000));
    const [stdioHeap1, httpHeap1] = await Promise.all([stdio.heap(), http.heap()]);
    const [stdioSnap1, httpSnap1] = await Promise.all([
      heapBreakdown(stdio.process!, 'stdio'),
      heapBreakdown(http.process!, 'http'),
    ]);
    const heapOf = (
      a: HeapSample,
      b: HeapSample,
      sa: HeapBreakdown,
      sb: HeapBreakdown,
      restarted: boolean,
    ): HeapFigures => ({
      start: a,
      end: b,
      growth: round(b.heapUsed / a.heapUsed - 1),
      startSnapshot: sa,
      endSnapshot: sb,
      nonCodeGrowth: round(sb.nonCode / sa.nonCode - 1),
      restarted,
    });
    const stdioHeap = heapOf(
      stdioHeap0,
      stdioHeap1,
      stdioSnap0,
      stdioSnap1,
      stdio.stats.restarts !== restartsBefore.stdio,
    );
    const httpHeap = heapOf(
      httpHeap0,
      httpHeap1,
      httpSnap0,
      httpSnap1,
      http.stats.restarts !== restartsBefore.http,
    );
    const margin = o.heapMargin ?? 0.1;
    const problems: string[] = [];
    for (const [name, h] of [
      ['stdio', stdioHeap],
      ['http', httpHeap],
    ] as const) {
      if (!h.start.gc)
        problems.push(`${name}: the server ran without --expose-gc; heap figures are not after a full GC`);
      if (!h.restarted && h.nonCodeGrowth > margin) {
        problems.push(
          `${name}: heap after GC without compiled code grew ${(h.nonCodeGrowth * 100).toFixed(1)} % (${mib(h.startSnapshot.nonCode)} → ${mib(h.endSnapshot.nonCode)}), over ${margin * 100} %`,
        );
      }
    }
    if (canaries.hits.length)
      problems.push(`${canaries.hits.length} canary hits: ${JSON.stringify(canaries.hits.slice(0, 5))}`);
    const cases = {
      stdio: stdio.stats.cases - casesBefore.stdio,
      http: http.stats.cases - casesBefore.http,
      total: 0,
    };
    cases.total = cases.stdio + cases.http;
    return {
      ok: failures.length === 0 && problems.length === 0,
      seed: o.seed,
      seeds,
      mode: o.mode,
      cases,
      durationSeconds: Math.round((performance.now() - started) / 100) / 10,
      loadavg: { start: load0, end: loadavg() },
      stdio: { ...stdio.stats, heap: stdioHeap },
      http: { ...http.stats, heap: httpHeap },
      heapTrend: trend,
      canaries: canaries.count(),
      canaryHits: canaries.hits,
      failures,
      problems,
      samples: { stdio: stdio.samples.toJSON(), http: http.samples.toJSON() },
      node: process.version,
    };
  } finally {
    await Promise.all([stdio.stop(), http.stop()]);
  }
}

const toolCall = (name: string, args: unknown): Payload => ({
  k: 'msg',
  msg: { t: 'request', id: { style: 'int' }, method: 'tools/call', params: { name, arguments: args } },
});
const searchCall = toolCall('search_relevant_content', { query: 'vpn' });

/** The inputs issue 10 names (items 1, 2, 3, 11) and ones the fuzzer found, run before the generated ones. */
export const STDIO_EXAMPLES: Payload[] = [
  { k: 'huge', mib: 10.5, shape: 'query' },
  { k: 'deep', shape: 'filter', depth: 3000, tool: 'search_relevant_content' },
  { k: 'deep', shape: 'filter-array', depth: 2500, tool: 'chat' },
  { k: 'surrogate', tool: 'search_relevant_content', field: 'nextToken', unit: '\uD800' },
  { k: 'surrogate', tool: 'get_document', field: 'documentId', unit: 'ok\uD800ok' },
  { k: 'surrogate', tool: 'get_conversation', field: 'conversationId', unit: '\uDFFF' },
  toolCall('search_relevant_content', ['vpn']),
  toolCall('chat', 'hello'),
  { k: 'batch', items: Array.from({ length: 20 }, () => (searchCall as { msg: Msg }).msg) },
];

export const HTTP_EXAMPLES: HttpCase[] = [
  {
    k: 'rpc',
    user: 0,
    headers: [],
    payload: { k: 'deep', shape: 'filter', depth: 3000, tool: 'search_relevant_content' },
  },
  {
    k: 'rpc',
    user: 0,
    headers: [],
    payload: { k: 'batch', items: Array.from({ length: 20 }, () => (searchCall as { msg: Msg }).msg) },
  },
  { k: 'rpc', user: 1, headers: [], payload: toolCall('search_relevant_content', 'vpn') },
  { k: 'rpc', user: 1, headers: [{ h: 'auth', v: 'two-spaces' }], payload: searchCall },
  // Found by the fuzzer: the 2026-07-28 leg met a 5,000-deep filter before the bounds check (HTTP 500).
  {
    k: 'rpc',
    user: 2,
    headers: [{ h: 'protocol', v: '2026-07-28' }],
    payload: { k: 'deep', shape: 'filter', depth: 5000, tool: 'search_relevant_content' },
  },
];

/** Runs `numRuns` generated cases without judging them (warm-up). */
async function drive<T>(
  arb: fc.Arbitrary<T>,
  run: (v: T) => Promise<unknown>,
  o: { seed: number; numRuns: number },
) {
  if (o.numRuns <= 0) return;
  await fc.check(
    fc.asyncProperty(arb, async (v) => {
      await run(v);
      return true;
    }),
    o,
  );
}

/** Real ids for the generators to pick now and then: a chat's conversation and message, found documents. */
async function idPools(stdio: StdioTarget): Promise<Record<string, string[]>> {
  const pools: Record<string, string[]> = {
    conversationId: [],
    messageId: [],
    parentMessageId: [],
    documentId: [],
    nextToken: [],
  };
  const call = async (name: string, args: unknown) =>
    (
      (await stdio.request('tools/call', { name, arguments: args })) as {
        structuredContent?: Record<string, unknown>;
      }
    ).structuredContent ?? {};
  for (const q of ['vpn', 'expense policy', 'security key']) {
    const s = await call('search_relevant_content', { query: q, maxResults: 3 });
    for (const p of (s.passages as Array<{ documentId: string }> | undefined) ?? [])
      pools.documentId!.push(p.documentId);
    if (typeof s.nextToken === 'string') pools.nextToken!.push(s.nextToken);
  }
  const c = await call('chat', { message: 'How do I connect to the VPN?' });
  if (typeof c.conversationId === 'string') pools.conversationId!.push(c.conversationId);
  if (typeof c.systemMessageId === 'string') {
    pools.messageId!.push(c.systemMessageId);
    pools.parentMessageId!.push(c.systemMessageId);
  }
  return Object.fromEntries(Object.entries(pools).filter(([, v]) => v.length));
}

/** The gist of a failure, to group them: its first problem without ids and numbers. */
function problemKind(problems: string[]): string {
  return (problems[0] ?? '')
    .replace(/stderr tail:[\s\S]*/, '')
    .replace(/[\d.]+/g, 'N')
    .replace(/[sn]:[^ ]+/g, 'ID')
    .slice(0, 80);
}

export const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
