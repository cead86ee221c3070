/**
 * @module Serializes sign-in state changes per profile, across processes (a lock directory under the
 * config directory) and within one (a promise chain). Claude Desktop starts several servers that share one
 * rotating refresh token: each re-reads the store inside the lock, so none refreshes a stale token.
 *
 * The lock is a file naming its holder (pid, start time, boot id, host), hard-linked into place complete so
 * nobody ever sees a lock without its owner. A waiter that finds the holder gone (killed mid-refresh)
 * takes over at once instead of waiting out a timeout. The holder touches the file every 5 s; a holder
 * this machine cannot check (another host) counts as gone once it stops touching it for 15 s, as does the
 * directory that earlier versions' proper-lockfile made at the same path (so they still exclude each other).
 */
import { randomBytes } from 'node:crypto';
import {
  link,
  lstat,
  mkdir,
  readdir,
  readFile,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErrorCode, QindexError } from '../errors.js';
import { isRunning, selfIdentity, type ProcessIdentity } from './process.js';
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
  /** Directory for lock files; absent: only the in-process lock (the memory store's profile logins). */
  dir?: string;
  /** How long to wait for another live process, in ms. */
  waitMs?: number;
}

/** Runs `fn` holding the profile's lock in this process and, when `dir` is given, across processes. */
export function withProfileLock<T>(profile: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  return withLocalLock(`${options.dir ?? ''}#${profile}`, async () => {
    if (!options.dir) return fn();
    await ensureDir(options.dir);
    const release = await acquireLock(join(options.dir, `${profile}.lock`), options.waitMs ?? 30_000);
    try {
      return await fn();
    } finally {
      await release().catch(() => undefined);
    }
  });
}

const HEARTBEAT_MS = 5_000;
const STALE_MS = 15_000;
/** A breaker holds `<lock>.break` for a few file operations: one older than this died doing so. */
const BREAK_STALE_MS = 5_000;
const NO_LINKS = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'];

export interface LockOwner extends ProcessIdentity {
  nonce: string;
  since: string;
}

interface Held {
  owner?: LockOwner;
  mtimeMs: number;
}

/** Takes the lock file `path`, waiting up to `waitMs` for a live holder; returns its release. */
export async function acquireLock(path: string, waitMs: number): Promise<() => Promise<void>> {
  const me: LockOwner = { ...selfIdentity(), nonce: randomBytes(8).toString('hex'), since: now() };
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    if (await tryCreate(path, me)) {
      await sweepTemps(path);
      return holding(path, me);
    }
    const held = await inspect(path);
    if (!held) continue; // released in between
    if (isGone(held) && (await breakLock(path))) continue;
    if (Date.now() >= deadline) throw busy(path, held, waitMs);
    await sleep(Math.min(50, 2 * 1.5 ** attempt) * (0.5 + Math.random()));
  }
}

/** Writes the owner record to a temp file and links it to `path`: atomic, and fails if `path` exists. */
async function tryCreate(path: string, me: LockOwner): Promise<boolean> {
  const temp = `${path}.${me.pid}.${me.nonce}.tmp`;
  await writeFile(temp, JSON.stringify(me), { mode: 0o600 });
  try {
    await link(temp, path);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') return false;
    if (!NO_LINKS.includes(code)) throw e;
    // A filesystem without hard links (FAT, some network shares): exclusive create, then the record.
    // A holder that dies in between leaves a lock without owner, judged by its age like a foreign one.
    return writeFile(path, JSON.stringify(me), { flag: 'wx', mode: 0o600 }).then(
      () => true,
      (err: NodeJS.ErrnoException) => (err.code === 'EEXIST' ? false : Promise.reject(err)),
    );
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** Removes the temp files of holders-to-be that died before their link (they name their pid). */
async function sweepTemps(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  for (const name of await readdir(dirname(path)).catch(() => [])) {
    const pid = Number(name.split('.').at(-3));
    if (!name.startsWith(prefix) || !name.endsWith('.tmp') || !Number.isInteger(pid)) continue;
    if (pid !== process.pid && isRunning({ pid, host: selfIdentity().host }) === false) {
      await unlink(join(dirname(path), name)).catch(() => undefined);
    }
  }
}

function holding(path: string, me: LockOwner): () => Promise<void> {
  const heartbeat = setInterval(() => {
    const t = new Date();
    utimes(path, t, t).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  return async () => {
    clearInterval(heartbeat);
    // Never remove a lock that was taken over from us (we stalled and were judged gone).
    if ((await inspect(path))?.owner?.nonce === me.nonce) await unlink(path).catch(() => undefined);
  };
}

/** The current holder, or undefined when the lock is free. */
export async function inspect(path: string): Promise<Held | undefined> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  // A directory is an earlier version's lock: no owner record, judged by its mtime.
  const owner = info.isDirectory()
    ? undefined
    : await readFile(path, 'utf8').then(parseOwner, () => undefined);
  return { owner, mtimeMs: info.mtimeMs };
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    return typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.nonce === 'string'
      ? (o as LockOwner)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A holder is gone when its process no longer runs. One this machine cannot check, or whose pid may have
 * been reused (no start time to compare), also counts as gone once its heartbeat is 15 s old.
 */
export function isGone(held: Held): boolean {
  const running = held.owner ? isRunning(held.owner) : undefined;
  if (running === false) return true;
  if (running === true && held.owner?.start) return false;
  return Date.now() - held.mtimeMs > STALE_MS;
}

/**
 * Removes a gone holder's lock. Breakers take turns through `<dir>.break` and look again inside it, so
 * two waiters that both saw the dead holder cannot remove the lock the first of them has just taken.
 * Returns false when another breaker is at work (the caller waits a moment).
 */
async function breakLock(path: string): Promise<boolean> {
  const guard = `${path}.break`;
  try {
    await mkdir(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const age = await stat(guard).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > BREAK_STALE_MS) await rmdir(guard).catch(() => undefined);
    return false;
  }
  try {
    const held = await inspect(path);
    if (held && isGone(held)) await rm(path, { recursive: true, force: true });
    return true;
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

function busy(path: string, held: Held, waitMs: number): QindexError {
  const who = held.owner
    ? `qindex-mcp process ${held.owner.pid} on ${held.owner.host}`
    : 'qindex-mcp process';
  return new QindexError(
    ErrorCode.SignInBusy,
    `Another ${who} has held the sign-in lock ${path} for more than ${waitMs / 1000} s.`,
    {
      remedy:
        'Retry in a moment. If that process hangs, end it: the lock is taken over as soon as it has exited.',
      retryable: true,
    },
  );
}

const now = () => new Date().toISOString();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
