/**
 * `npm pack` → `npm install -g` into a temporary prefix → the installed `qindex-mcp` as a user runs it,
 * away from this checkout: --version, --help, a device login, doctor, serve over stdio (launched as
 * server.json tells a registry client) and over HTTP. The tarball holds the built CLI and the config
 * schema only (no sandbox, tests, fixtures or source maps), and nothing it imports is a devDependency.
 */
import { execFile } from 'node:child_process';
import { builtinModules } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../../tools/ensure-built.js';
import { packInto } from '../../tools/bundle.js';
import { allTools } from '../../src/tools/index.js';
import { leaked, run, tempDir } from '../auth/helpers.js';
import { useSandbox } from '../helpers/sandbox.js';
import {
  awsKeys,
  deviceLogin,
  listAndSearch,
  npmEnv,
  runServer,
  stdio,
  streamableHttp,
  userEnv,
  writeSandboxConfig,
} from './helpers.js';

const exec = promisify(execFile);
const sandbox = useSandbox();
const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  dependencies: Record<string, string>;
};
const serverJson = JSON.parse(await readFile(join(ROOT, 'server.json'), 'utf8')) as {
  packages: Array<{
    registryType: string;
    packageArguments: Array<{ value?: string }>;
    environmentVariables: Array<{ name: string }>;
  }>;
};

let home: string;
let tarball: string[];
let installed: string;
let bin: string;

beforeAll(async () => {
  await ensureBuilt();
  home = await tempDir('qindex-release-');
  const tgz = await packInto(ROOT, home, npmEnv(home));
  tarball = (await exec('tar', ['-tzf', tgz])).stdout.split('\n').filter(Boolean);
  const prefix = join(home, 'prefix');
  // From the registry through the user's cache, as `npm install -g qindex-mcp` would.
  await exec(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      tgz,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
    ],
    { cwd: home, env: npmEnv(home), maxBuffer: 16 * 1024 * 1024 },
  );
  installed = join(prefix, 'lib', 'node_modules', pkg.name);
  bin = join(prefix, 'bin', 'qindex-mcp');
}, 300_000);

/** The installed bin, run from the temporary HOME with nothing of the checkout on PATH. */
const cli = (args: string[], extra: Record<string, string> = {}) =>
  run(bin, args, userEnv(home, extra), { cwd: home, timeoutMs: 60_000 });

describe('the npm package', () => {
  it('holds the built CLI, the config schema, README and package.json; no sandbox, tests, fixtures or maps', () => {
    const files = tarball.map((f) => f.replace(/^package\//, ''));
    expect(files).toContain('dist/src/cli.js');
    expect(files).toContain('schema/config.schema.json');
    const unexpected = files.filter(
      (f) =>
        !/^dist\/src\/.+\.js$/.test(f) &&
        !['package.json', 'README.md', 'LICENSE', 'schema/config.schema.json'].includes(f),
    );
    expect(unexpected).toEqual([]);
    // The repository's tools/ (sandbox, scripts) is development only; src/tools is the product's tools layer.
    const devOnly = files.filter((f) =>
      /(^|\/)(sandbox|test|tests|fixtures)\/|^(dist\/)?tools\/|\.test\.js$|\.map$/.test(f),
    );
    expect(devOnly).toEqual([]);
  });

  it('imports only its own files, Node built-ins and its dependencies (never tools/, tests or devDependencies)', async () => {
    const files = await jsFiles(join(installed, 'dist'));
    expect(files.length).toBeGreaterThan(20);
    const allowed = new Set(Object.keys(pkg.dependencies));
    const problems: string[] = [];
    for (const file of files) {
      for (const spec of importsOf(await readFile(file, 'utf8'))) {
        const where = relative(installed, file);
        if (spec.startsWith('.')) {
          const target = relative(installed, join(file, '..', spec));
          if (!target.startsWith('dist/src/') || !tarball.includes(`package/${target}`))
            problems.push(`${where} imports ${spec} (outside the package's files)`);
        } else if (!isBuiltin(spec) && !allowed.has(packageName(spec))) {
          problems.push(`${where} imports ${spec}, which is not a dependency`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('--version and --help work from the installed bin', async () => {
    const version = await cli(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['login', 'serve', 'doctor', 'whoami', 'logout'])
      expect(help.stdout).toContain(command);
  });

  it('signs in with a device code, passes doctor, serves over stdio (as server.json says) and HTTP', async () => {
    const config = await writeSandboxConfig(home, sandbox(), 'idc');
    const keys = awsKeys(sandbox(), 'idc');

    const login = await deviceLogin(
      sandbox(),
      bin,
      ['login', '--device', '--config', config],
      userEnv(home),
      'alice',
    );
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('Signed in: alice@example.com');
    const stored = JSON.parse(await readFile(join(home, 'config', 'logins', 'default.json'), 'utf8')) as {
      refreshToken: string;
    };

    const doctor = await cli(['doctor', '--json', '--config', config], keys);
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ ok: true });

    // A registry client runs `npx -y <identifier> <packageArguments>` with the environment it lists.
    const npm = serverJson.packages.find((p) => p.registryType === 'npm')!;
    const args = npm.packageArguments.map((a) => a.value!);
    const named = new Set(npm.environmentVariables.map((v) => v.name));
    const env = { QINDEX_CONFIG: config, ...keys };
    for (const name of Object.keys(env)) expect(named).toContain(name);
    const server = stdio(bin, args, userEnv(home, env), home);
    const viaStdio = await listAndSearch(server.transport);
    expect(viaStdio.tools, server.stderr()).toEqual(allTools.map((t) => t.name));
    expect(viaStdio.isError, viaStdio.text).toBe(false);
    expect(viaStdio.text).toContain('[1]');

    const http = runServer(
      bin,
      ['serve', '--transport', 'http', '--port', '0', '--config', config],
      userEnv(home, keys),
      home,
    );
    try {
      const [, url] = await http.waitFor(/MCP endpoint (http:\/\/\S+)/);
      const viaHttp = await listAndSearch(streamableHttp(url!));
      expect(viaHttp.isError, viaHttp.text).toBe(false);
      expect(viaHttp.text).toContain('[1]');
      const health = await fetch(new URL('/healthz', url));
      expect(await health.json()).toEqual({ status: 'ok' });
    } finally {
      expect(await http.stop()).toBe(0);
    }

    for (const out of [
      login.stdout,
      login.stderr,
      doctor.stdout,
      doctor.stderr,
      server.stderr(),
      http.output(),
    ])
      expect(leaked(out, [stored.refreshToken, keys.AWS_SECRET_ACCESS_KEY!])).toBeUndefined();
  }, 180_000);
});

async function jsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await jsFiles(path)));
    else if (entry.name.endsWith('.js')) out.push(path);
  }
  return out;
}

/** Static and dynamic import specifiers of compiled ESM (tsc output: one import per statement). */
function importsOf(source: string): string[] {
  const specs = new Set<string>();
  for (const re of [
    // Statements at the start of a line (as tsc and the bundler write them), not an error message's
    // example inside a bundled package's string.
    /^(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]/gm,
    /^import\s*['"]([^'"]+)['"]/gm,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  ])
    for (const m of source.matchAll(re)) specs.add(m[1]!);
  return [...specs];
}

const isBuiltin = (spec: string) => spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0]!);
const packageName = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');
