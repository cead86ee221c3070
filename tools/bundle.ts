/**
 * @module `npm run bundle`: the Claude Desktop extension (MCPB, `dist/qindex-mcp-<version>.mcpb`).
 * It stages what `npm pack` ships (package.json `files`) with the production dependencies that
 * package-lock.json pins, adds the keyring binaries of every desktop platform, brings manifest.json's
 * version and tool list in step with package.json and src/tools, then validates and packs it with the
 * official `mcpb` CLI. The same staged runtime is what the Dockerfile's image holds (test/release).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as prettier from 'prettier';
import { allTools } from '../src/tools/index.js';
import { ensureBuilt, ROOT } from './ensure-built.js';

const run = promisify(execFile);
export const MANIFEST_PATH = join(ROOT, 'manifest.json');
export const MCPB_CLI = join(ROOT, 'node_modules/@anthropic-ai/mcpb/dist/cli/cli.js');

/**
 * Claude Desktop runs on macOS and Windows (and Linux builds exist): the keyring's native binary for
 * each, since `npm ci` installs only the building machine's.
 */
export const DESKTOP_KEYRING_PACKAGES = [
  '@napi-rs/keyring-darwin-arm64',
  '@napi-rs/keyring-darwin-x64',
  '@napi-rs/keyring-win32-x64-msvc',
  '@napi-rs/keyring-win32-arm64-msvc',
  '@napi-rs/keyring-linux-x64-gnu',
  '@napi-rs/keyring-linux-arm64-gnu',
];

interface ManifestTool {
  name: string;
  description: string;
}

/** The manifest's tool list, from the real tool definitions: the first sentence a user reads. */
export function manifestTools(): ManifestTool[] {
  return allTools.map((t) => ({ name: t.name, description: firstSentence(t.description) }));
}

function firstSentence(text: string): string {
  // A full stop and a space end it, but not the one of "e.g." or "i.e.".
  const end = /(?<!\b(?:e\.g|i\.e))\.\s/.exec(text);
  return end ? text.slice(0, end.index + 1) : text;
}

/**
 * manifest.json as it must be: the committed one with package.json's version and Node versions
 * (`engines`), and the real tools.
 */
export async function expectedManifest(): Promise<Record<string, unknown>> {
  const manifest = JSON.parse(await readFile(MANIFEST_PATH, 'utf8')) as Record<string, unknown>;
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    engines: { node: string };
  };
  const compatibility = (manifest.compatibility ?? {}) as Record<string, unknown>;
  const runtimes = { ...(compatibility.runtimes as object), node: pkg.engines.node };
  return {
    ...manifest,
    version: pkg.version,
    tools: manifestTools(),
    compatibility: { ...compatibility, runtimes },
  };
}

/** Rewrites manifest.json when its version or tools drifted; says whether it did. */
async function syncManifest(): Promise<boolean> {
  const current = await readFile(MANIFEST_PATH, 'utf8');
  const expected = await expectedManifest();
  if (JSON.stringify(JSON.parse(current)) === JSON.stringify(expected)) return false;
  // Formatted as the repository's prettier would, so `prettier --check .` agrees.
  const options = (await prettier.resolveConfig(MANIFEST_PATH)) ?? {};
  await writeFile(
    MANIFEST_PATH,
    await prettier.format(JSON.stringify(expected), { ...options, parser: 'json' }),
  );
  return true;
}

/**
 * Lays out in `dir` what runs in production: the `npm pack` contents (built CLI, config schema,
 * package.json) and `node_modules` with the production dependencies of package-lock.json. No
 * network beyond the npm registry, and the user's npm cache first.
 */
export async function stageRuntime(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await ensureBuilt();
  const packDir = await mkdtemp(join(tmpdir(), 'qindex-pack-'));
  try {
    const tgz = await packInto(ROOT, packDir, env);
    await mkdir(dir, { recursive: true });
    await run('tar', ['-xzf', tgz, '-C', dir, '--strip-components=1']);
  } finally {
    await rm(packDir, { recursive: true, force: true });
  }
  await cp(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  await run(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
    ],
    { cwd: dir, env, maxBuffer: 16 * 1024 * 1024 },
  );
}

/** `npm pack` of `source` into `destination` (lifecycle scripts off: the caller built dist/); the .tgz path. */
export async function packInto(source: string, destination: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--loglevel=error', '--pack-destination', destination],
    { cwd: source, env, maxBuffer: 16 * 1024 * 1024 },
  );
  const [info] = JSON.parse(stdout) as [{ filename: string }];
  return join(destination, info.filename);
}

/** Adds each desktop platform's keyring binary at the version (and integrity) package-lock.json pins. */
async function addKeyringBinaries(dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version: string; integrity: string }>;
  };
  const packDir = await mkdtemp(join(tmpdir(), 'qindex-keyring-'));
  try {
    for (const name of DESKTOP_KEYRING_PACKAGES) {
      const pinned = lock.packages[`node_modules/${name}`];
      if (!pinned) throw new Error(`${name} is not in package-lock.json`);
      const { stdout } = await run(
        'npm',
        [
          'pack',
          `${name}@${pinned.version}`,
          '--json',
          '--prefer-offline',
          '--loglevel=error',
          '--pack-destination',
          packDir,
        ],
        { cwd: packDir, env },
      );
      const [info] = JSON.parse(stdout) as [{ filename: string }];
      const tgz = join(packDir, info.filename);
      const integrity = `sha512-${createHash('sha512')
        .update(await readFile(tgz))
        .digest('base64')}`;
      if (integrity !== pinned.integrity) throw new Error(`${name}@${pinned.version}: integrity mismatch`);
      const target = join(dir, 'node_modules', name);
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
      await run('tar', ['-xzf', tgz, '-C', target, '--strip-components=1']);
    }
  } finally {
    await rm(packDir, { recursive: true, force: true });
  }
}

/** Runs the official mcpb CLI; its output (a file listing) comes back for errors. */
export async function mcpb(args: string[], cwd = ROOT): Promise<string> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MCPB_CLI, ...args], {
      cwd,
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout + stderr;
  } catch (e) {
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    throw new Error(`mcpb ${args[0]} failed:\n${stdout}${stderr}`, { cause: e });
  }
}

export interface BuiltBundle {
  file: string;
  sha256: string;
  /** Whether manifest.json had to be brought up to date (commit it). */
  manifestUpdated: boolean;
}

export interface BundleOptions {
  /** Default dist/<name>-<version>.mcpb. */
  out?: string;
  env?: NodeJS.ProcessEnv;
  /** Bring manifest.json's version and tools up to date first (default); tests pack it as committed. */
  updateManifest?: boolean;
}

/** Builds, validates and packs the bundle. */
export async function buildBundle(options: BundleOptions = {}): Promise<BuiltBundle> {
  const env = options.env ?? process.env;
  const manifestUpdated = options.updateManifest === false ? false : await syncManifest();
  const manifest = JSON.parse(await readFile(MANIFEST_PATH, 'utf8')) as { name: string; version: string };
  const out = resolve(options.out ?? join(ROOT, 'dist', `${manifest.name}-${manifest.version}.mcpb`));
  const stage = await mkdtemp(join(tmpdir(), 'qindex-bundle-'));
  try {
    await stageRuntime(stage, env);
    await addKeyringBinaries(stage, env);
    await cp(MANIFEST_PATH, join(stage, 'manifest.json'));
    await mcpb(['validate', join(stage, 'manifest.json')]);
    await mkdir(join(out, '..'), { recursive: true });
    await mcpb(['pack', stage, out]);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  const sha256 = createHash('sha256')
    .update(await readFile(out))
    .digest('hex');
  return { file: out, sha256, manifestUpdated };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--out');
  const built = await buildBundle(i > 0 && process.argv[i + 1] ? { out: process.argv[i + 1]! } : {});
  if (built.manifestUpdated)
    process.stderr.write('manifest.json: version/tools brought up to date (commit it)\n');
  process.stderr.write(`wrote ${built.file}\nsha256 ${built.sha256}\n`);
}
