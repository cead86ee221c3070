/**
 * @module Benchmark: what an MCP tool call over stdio adds on top of the raw Q call. Sequential
 * SearchRelevantContent calls against the sandbox three ways: the bare SDK client with identity-aware
 * credentials (baseline), the built `qindex-mcp serve` through the SDK's MCP Client over stdio, and
 * `whoami` over the same connection (no Q call: the MCP + stdio floor).
 *
 * Usage: npm run bench:mcp [-- --calls 300 --warmup 30]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { openSignIn } from '../src/auth/index.js';
import { createCredentialProvider } from '../src/identity/index.js';
import { createLogger } from '../src/log.js';
import { ConfigSchema } from '../src/config/schema.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import { controlClient } from '../tools/sandbox/control-client.js';
import { sandboxConfig } from '../tools/sandbox-config.js';
import { CLI, ROOT, ensureBuilt } from '../tools/ensure-built.js';

const { values } = parseArgs({
  options: { calls: { type: 'string', default: '300' }, warmup: { type: 'string', default: '30' } },
});
const calls = Number(values.calls);
const warmup = Number(values.warmup);
const QUERIES = ['travel reimbursement limit', 'on-call escalation', 'connect to the VPN', 'parental leave'];

async function time(label: string, fn: (i: number) => Promise<unknown>) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const samples: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = performance.now();
    await fn(i);
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  const q = (p: number) =>
    Number(samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(2));
  const mean = Number((samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(2));
  const result = { p50: q(0.5), p90: q(0.9), p99: q(0.99), mean };
  process.stderr.write(
    `${label.padEnd(28)} p50 ${result.p50} ms  p90 ${result.p90} ms  p99 ${result.p99} ms\n`,
  );
  return result;
}

/** The sandbox in its own process (as `npm run sandbox` runs it), so it competes with neither path. */
async function startSandboxProcess() {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/sandbox/main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  const line = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  return { child, description: JSON.parse(line) as SandboxDescription };
}

const [sandbox] = await Promise.all([startSandboxProcess(), ensureBuilt()]);
const d = sandbox.description;
const control = controlClient(d.control);
const base = d.modes.idc.baseCredentials;
const configInput = { ...sandboxConfig(d, 'idc'), tokenStore: 'memory', logging: { level: 'silent' } };
const config = ConfigSchema.parse(configInput);
const logger = createLogger({ level: 'silent' });

try {
  // Baseline: the bare SDK client, identity-aware credentials built once.
  process.env.AWS_ACCESS_KEY_ID = base.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = base.secretAccessKey;
  const rawToken = await control.mintRefreshToken({ username: 'alice', clientId: d.modes.idc.clientId });
  const signIn = openSignIn(config, { logger, env: { ...process.env, QINDEX_REFRESH_TOKEN: rawToken } });
  const credentials = createCredentialProvider(config, { freshIdToken: () => signIn.freshIdToken(), logger });
  // The same transport settings as src/q/client.ts, so the difference is the MCP layer alone.
  const sdk = new QBusinessClient({
    region: config.q.region,
    endpoint: config.aws.endpoint,
    credentials,
    requestHandler: { disableConcurrentStreams: false },
  });
  const raw = await time('raw SDK SearchRelevantContent', (i) =>
    sdk.send(
      new SearchRelevantContentCommand({
        applicationId: config.q.applicationId,
        queryText: QUERIES[i % QUERIES.length],
        contentSource: { retriever: { retrieverId: config.q.retrieverId } },
        maxResults: 10,
      }),
    ),
  );
  sdk.destroy();

  // The same call as an MCP tool over stdio.
  const dir = await mkdtemp(join(tmpdir(), 'qindex-mcp-bench-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(configInput));
  const mcpToken = await control.mintRefreshToken({ username: 'alice', clientId: d.modes.idc.clientId });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', '--config', configPath],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      QINDEX_CONFIG_DIR: dir,
      QINDEX_REFRESH_TOKEN: mcpToken,
      AWS_ACCESS_KEY_ID: base.accessKeyId,
      AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
    },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const tool = await time('MCP search_relevant_content', (i) =>
    client.callTool({
      name: 'search_relevant_content',
      arguments: { query: QUERIES[i % QUERIES.length], maxResults: 10 },
    }),
  );
  const floor = await time('MCP whoami (no Q call)', () =>
    client.callTool({ name: 'whoami', arguments: {} }),
  );
  const exchanges = (await control.counters())['sso-oauth:CreateTokenWithIAM'] ?? 0;
  await client.close();

  const overhead = {
    p50: Number((tool.p50 - raw.p50).toFixed(2)),
    mean: Number((tool.mean - raw.mean).toFixed(2)),
  };
  process.stderr.write(`overhead of the MCP tool call: p50 ${overhead.p50} ms, mean ${overhead.mean} ms\n`);
  const result = {
    benchmark: 'mcp-stdio',
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    calls,
    warmup,
    latencyMs: { rawSdk: raw, mcpTool: tool, mcpWhoami: floor },
    overheadMs: overhead,
    /** Identity exchanges for both paths together: one each, however many calls. */
    identityExchanges: exchanges,
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/mcp-stdio.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeReadmeSection(result);
} finally {
  sandbox.child.kill();
}

/** Replaces this benchmark's own section of bench/README.md (between markers), leaving the rest alone. */
function writeReadmeSection(r: {
  date: string;
  node: string;
  cpus: number;
  calls: number;
  latencyMs: Record<string, { p50: number; p90: number; p99: number; mean: number }>;
  overheadMs: { p50: number; mean: number };
  identityExchanges: number;
}) {
  const path = join(ROOT, 'bench/README.md');
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '# Benchmarks\n';
  }
  const row = (name: string, k: string) => {
    const l = r.latencyMs[k]!;
    return `| ${name} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.mean} |`;
  };
  const section = [
    '<!-- mcp-stdio:start -->',
    '## MCP tool call over stdio (`npm run bench:mcp`)',
    '',
    `What one \`search_relevant_content\` call through the built server adds on top of the raw SDK call, sequential calls against the sandbox (${r.calls} calls each after warm-up; Node ${r.node}, ${r.cpus} CPUs, ${r.date.slice(0, 10)}). Results: \`bench/results/mcp-stdio.json\`.`,
    '',
    '| path | p50 ms | p90 ms | p99 ms | mean ms |',
    '|---|---|---|---|---|',
    row('raw SDK `SearchRelevantContent`', 'rawSdk'),
    row('MCP `search_relevant_content` over stdio', 'mcpTool'),
    row('MCP `whoami` (no Q call)', 'mcpWhoami'),
    '',
    `Overhead of the MCP tool call: **${r.overheadMs.p50} ms at p50** (${r.overheadMs.mean} ms mean): JSON-RPC over two pipes, zod validation of input and output, and the text rendering. The identity exchange is not per call: ${r.identityExchanges} exchanges in total for both paths.`,
    '<!-- mcp-stdio:end -->',
  ].join('\n');
  const re = /<!-- mcp-stdio:start -->[\s\S]*<!-- mcp-stdio:end -->/;
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, text);
}
