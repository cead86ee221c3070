/**
 * @module Benchmark: what the telemetry costs a Q call. Interleaved pairs of SearchRelevantContent calls
 * against the sandbox's Q emulator (its own process), one through a plain QBusinessClient and one through
 * a client with the telemetry middleware (src/telemetry/aws.ts), in three states: off (nothing loaded, the
 * default), API loaded with no SDK (OTEL_* set but nothing registered: non-recording spans), and on (an
 * in-memory OTel SDK and prom-client), for reference. Three runs each; the ratio of medians and the
 * median of per-pair differences are printed with the load average.
 *
 * Usage: npx tsx bench/telemetry-off.ts [--pairs 400]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import { SearchRelevantContentCommand, type QBusinessClient } from '@aws-sdk/client-qbusiness';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import { qClient, sessionFor } from '../test/helpers/credentials.js';
import { instrumentAwsClient } from '../src/telemetry/aws.js';
import { enableMetrics } from '../src/telemetry/metrics.js';
import { enableTracing } from '../src/telemetry/trace.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { pairs: { type: 'string', default: '400' } } });
const pairs = Number(values.pairs);

async function startSandboxProcess() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'tools/sandbox/main.ts')], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return { child, description: JSON.parse(line) as SandboxDescription };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

async function main() {
  const { child, description } = await startSandboxProcess();
  const sandbox = { description };
  try {
    const s = await sessionFor(sandbox, 'alice', 'idc');
    const plain = s.q;
    const observed = instrumentAwsClient(qClient(sandbox, s.credentials), 'q');
    const call = async (q: QBusinessClient, i: number) => {
      const t0 = performance.now();
      await q.send(
        new SearchRelevantContentCommand({
          applicationId: s.applicationId,
          queryText: `policy ${i % 7}`,
          contentSource: { retriever: { retrieverId: s.retrieverId } },
        }),
      );
      return performance.now() - t0;
    };
    const runPairs = async () => {
      const a: number[] = [];
      const b: number[] = [];
      const diffs: number[] = [];
      for (let i = 0; i < pairs; i++) {
        // Alternate which goes first, so neither gains from a warm cache or a GC pause.
        const [x, y] =
          i % 2
            ? [await call(plain, i), await call(observed, i)]
            : reverse(await call(observed, i), await call(plain, i));
        a.push(x);
        b.push(y);
        diffs.push(y - x);
      }
      return {
        ratio: median(b) / median(a),
        plainMs: median(a),
        observedMs: median(b),
        diffMs: median(diffs),
      };
    };
    const reverse = (observedMs: number, plainMs: number): [number, number] => [plainMs, observedMs];
    for (let i = 0; i < 200; i++) await call(i % 2 ? plain : observed, i); // warm-up

    const results: Record<string, unknown[]> = {};
    const measure = async (state: string) => {
      results[state] = [];
      for (let run = 1; run <= 3; run++) {
        const r = { run, load: loadavg()[0]!.toFixed(2), ...(await runPairs()) };
        results[state]!.push(r);
        console.log(
          `${state.padEnd(16)} run ${run}: ratio ${r.ratio.toFixed(3)}  plain p50 ${r.plainMs.toFixed(3)} ms  ` +
            `observed p50 ${r.observedMs.toFixed(3)} ms  paired diff p50 ${r.diffMs >= 0 ? '+' : ''}${r.diffMs.toFixed(3)} ms  load ${r.load}`,
        );
      }
    };
    await measure('off');
    await enableTracing(true);
    await measure('api-no-sdk');
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(
      new TracerProvider({
        spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
      }),
    );
    await enableMetrics();
    await measure('on (sdk+prom)');
    const out = join(root, 'bench/results/telemetry-off.json');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify({ pairs, node: process.version, results }, null, 2)}\n`);
  } finally {
    child.kill();
  }
}

await main();
