/**
 * @module Builds the CLI into dist/ (tsc, then the bundle of tools/build-cli.ts) unless dist/src/cli.js is newer than every file in src/. Used by
 * `npm start`, `npm run demo`, the MCP tests and the stdio bench; a lock keeps parallel callers from
 * compiling at the same time.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';
import { buildCli } from './build-cli.js';

export const ROOT = resolve(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist/src/cli.js');

export async function ensureBuilt(): Promise<void> {
  const lockDir = join(ROOT, '.tmp');
  mkdirSync(lockDir, { recursive: true });
  const release = await lockfile.lock(lockDir, {
    lockfilePath: join(lockDir, 'build.lock'),
    retries: { retries: 240, minTimeout: 250, maxTimeout: 1000 },
    stale: 120_000,
  });
  try {
    if (await isFresh()) return;
    const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
    try {
      await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT });
    } catch (e) {
      // Type errors still emit JavaScript; only a missing CLI is fatal.
      if (!(await stat(CLI).catch(() => undefined))) throw e;
    }
    // As `npm run build`: the bundled CLI over tsc's dist/src/cli.js, which tests and benches run.
    await buildCli(ROOT);
  } finally {
    await release();
  }
}

async function isFresh(): Promise<boolean> {
  const built = await stat(CLI).catch(() => undefined);
  return built !== undefined && built.mtimeMs >= (await newestMtime(join(ROOT, 'src')));
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(path) : (await stat(path)).mtimeMs);
  }
  return newest;
}
