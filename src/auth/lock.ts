/**
 * @module Serializes sign-in state changes per profile, across processes (proper-lockfile on a lock file in
 * the config directory) and within one (a promise chain). Claude Desktop starts several servers that share
 * one rotating refresh token: each re-reads the store inside the lock, so none refreshes a stale token.
 */
import lockfile from 'proper-lockfile';
import { join } from 'node:path';
import { QindexError } from '../errors.js';
import { ensureDir } from './store/file.js';

const chains = new Map<string, Promise<unknown>>();

/** Runs `fn` while holding this process's turn for `key`. */
export function withLocalLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = chains.get(key) ?? Promise.resolve();
  const run = previous.then(fn, fn);
  const settled = run.then(
    () => undefined,
    () => undefined,
  );
  chains.set(key, settled);
  void settled.then(() => {
    if (chains.get(key) === settled) chains.delete(key);
  });
  return run;
}

export interface LockOptions {
  /** Directory for lock files; absent: only the in-process lock (memory and env stores). */
  dir?: string;
  /** How long to wait for another process, in ms. */
  waitMs?: number;
}

/** Runs `fn` holding the profile's lock in this process and, when `dir` is given, across processes. */
export function withProfileLock<T>(profile: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  return withLocalLock(`${options.dir ?? ''}#${profile}`, async () => {
    if (!options.dir) return fn();
    await ensureDir(options.dir);
    const file = join(options.dir, `${profile}.lock`);
    let release: () => Promise<void>;
    try {
      release = await lockfile.lock(file, {
        realpath: false,
        lockfilePath: file,
        stale: 15_000,
        retries: {
          retries: Math.ceil((options.waitMs ?? 30_000) / 200),
          factor: 1.2,
          minTimeout: 10,
          maxTimeout: 200,
          randomize: true,
        },
        // The default throws from a timer and kills the process; a compromised lock only risks a stale read.
        onCompromised: () => undefined,
      });
    } catch (e) {
      throw new QindexError(
        'sign_in_busy',
        `Another qindex-mcp process kept the sign-in lock ${file} too long.`,
        {
          remedy: 'Retry in a moment; if no other qindex-mcp is running, delete that lock.',
          retryable: true,
          cause: e,
        },
      );
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  });
}
