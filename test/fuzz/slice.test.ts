/**
 * A short seeded slice of the fuzz benchmark (bench/fuzz.ts), through the same harness code: the built
 * server over stdio and over HTTP in bearer mode, each in its own process, fed generated tool calls,
 * broken JSON-RPC and broken HTTP. It must not exit, must answer every request exactly once, must write
 * only JSON-RPC to stdout, must not leak a minted token, and must not grow its heap grossly. A failure
 * prints the seed and the shrunk counterexample; replay it with `npm run bench:fuzz -- --seed <seed>`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../tools/ensure-built.js';
import { useSandbox } from '../helpers/sandbox.js';
import { runFuzz, type FuzzReport } from '../../bench/fuzz/run.js';

const sandbox = useSandbox();
const SEED = 20_261_201;

beforeAll(async () => {
  await ensureBuilt();
}, 240_000);

function explain(r: FuzzReport): string {
  const lines = [`seed ${r.seed} (stdio ${r.seeds.stdio}, http ${r.seeds.http})`, ...r.problems];
  for (const f of r.failures) {
    lines.push(
      `${f.target} path ${f.shrunk?.path ?? f.path}: ${f.problems.join(' | ').slice(0, 800)}`,
      `  counterexample: ${JSON.stringify(f.shrunk?.counterexample ?? f.counterexample).slice(0, 1500)}`,
    );
  }
  return lines.join('\n');
}

describe('fuzz slice', () => {
  it('survives 1,600 seeded cases over stdio and HTTP bearer mode with every request answered once', async () => {
    const report = await runFuzz(sandbox(), {
      seed: SEED,
      stdioCases: 1000,
      httpCases: 600,
      warmup: 100,
      mode: 'assert',
      logLevel: 'debug',
      // No multi-MiB lines in CI; the long run has them.
      hugeWeight: 0,
      shrinkSeconds: 60,
      // A gross-leak guard only: 10 % after a full GC is the long run's bound (bench/README.md).
      heapMargin: 0.5,
    });
    expect(report.failures, explain(report)).toEqual([]);
    expect(report.problems, explain(report)).toEqual([]);
    expect(report.cases.total).toBe(1600);
    expect(report.stdio.crashes + report.http.crashes).toBe(0);
    expect(report.stdio.nonJsonLines).toBe(0);
    expect(report.canaryHits).toEqual([]);
    // The slice did reach the tools and the error paths, not only one of them.
    expect(report.stdio.requests).toBeGreaterThan(300);
    expect(report.stdio.anonymousErrors).toBeGreaterThan(100);
    expect(report.http.byStatus['200']).toBeGreaterThan(100);
  }, 300_000);
});
