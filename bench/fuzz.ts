/**
 * @module Fuzz benchmark: property-based fuzzing (fast-check) of the built server over stdio and over
 * Streamable HTTP in bearer mode, each in its own process, against the sandbox (in this process, with the
 * load generator). See bench/fuzz/run.ts for the oracles. Prints the seed; a failure prints its shrunk
 * counterexample and the `--seed`/path to replay it. Writes bench/results/fuzz.json.
 *
 * Usage: npm run bench:fuzz [-- --stdio 60000 --http 40000 --seed 1 --mode collect --warmup 300 --no-hangups]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSandbox } from '../tools/sandbox/index.js';
import { ROOT, ensureBuilt } from '../tools/ensure-built.js';
import { mib, runFuzz } from './fuzz/run.js';
import type { LogLevel } from './fuzz/server-process.js';

const { values } = parseArgs({
  options: {
    stdio: { type: 'string', default: '2000' },
    http: { type: 'string', default: '2000' },
    seed: { type: 'string' },
    mode: { type: 'string', default: 'collect' },
    warmup: { type: 'string', default: '300' },
    huge: { type: 'string' },
    timeout: { type: 'string', default: '30000' },
    'log-level': { type: 'string', default: 'debug' },
    out: { type: 'string', default: 'bench/results/fuzz.json' },
    'no-hangups': { type: 'boolean', default: false },
  },
});
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
const mode = values.mode === 'assert' ? 'assert' : 'collect';
const say = (line: string) => process.stderr.write(`${line}\n`);
say(`fuzz: seed ${seed}, ${values.stdio} stdio + ${values.http} HTTP cases, mode ${mode}`);

await ensureBuilt();
const sandbox = await startSandbox();
try {
  const report = await runFuzz(sandbox, {
    seed,
    stdioCases: Number(values.stdio),
    httpCases: Number(values.http),
    mode,
    warmup: Number(values.warmup),
    timeoutMs: Number(values.timeout),
    logLevel: values['log-level'] as LogLevel,
    noHangups: values['no-hangups'] === true,
    ...(values.huge !== undefined ? { hugeWeight: Number(values.huge) } : {}),
    progress: say,
  });
  const path = join(ROOT, values.out!);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ date: new Date().toISOString(), cpus: cpus().length, ...report }, null, 2)}\n`,
  );
  const s = report.stdio;
  const h = report.http;
  say(
    [
      `cases: ${report.cases.total} (stdio ${report.cases.stdio}, http ${report.cases.http}) in ${report.durationSeconds} s`,
      `stdio: ${s.units} lines, ${s.requests} requests, ${s.responses} responses, crashes ${s.crashes}, unanswered ${s.unanswered}, non-JSON lines ${s.nonJsonLines}, duplicates ${s.duplicates}, strays ${s.strays}, internal errors ${s.internalErrors}`,
      `http: ${h.responses} responses ${JSON.stringify(h.byStatus)}, crashes ${h.crashes}, unanswered ${h.unanswered}, 5xx ${h.serverErrors}, bad bodies ${h.nonJsonLines}, internal errors ${h.internalErrors}`,
      ...(['stdio', 'http'] as const).map((t) => {
        const x = report[t].heap!;
        return `${t} heap after GC: ${mib(x.start.heapUsed)} → ${mib(x.end.heapUsed)} (${(x.growth * 100).toFixed(1)} %); without compiled code ${mib(x.startSnapshot.nonCode)} → ${mib(x.endSnapshot.nonCode)} (${(x.nonCodeGrowth * 100).toFixed(1)} %), compiled code ${mib(x.startSnapshot.code)} → ${mib(x.endSnapshot.code)}`;
      }),
      `canaries: ${report.canaries}, hits ${report.canaryHits.length}; load average ${report.loadavg.start.map((x) => x.toFixed(2)).join(' ')} → ${report.loadavg.end.map((x) => x.toFixed(2)).join(' ')}`,
      ...report.problems.map((p) => `PROBLEM: ${p}`),
    ].join('\n'),
  );
  for (const f of report.failures.filter((x) => x.shrunk).slice(0, 6)) {
    say(`\nFAILED (${f.target}, seed ${f.seed}, path ${f.shrunk!.path}): ${f.problems[0]?.slice(0, 400)}`);
    say(`  shrunk counterexample: ${JSON.stringify(f.shrunk!.counterexample).slice(0, 1200)}`);
    say(`  when replayed: ${f.shrunk!.problems.join(' | ').slice(0, 600)}`);
  }
  say(`\n${report.ok ? 'OK' : 'FAILED'}: seed ${seed}; results in ${values.out}`);
  process.exitCode = report.ok ? 0 : 1;
} finally {
  await sandbox.stop();
}
