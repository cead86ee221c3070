/**
 * @module The file token store: one JSON file per profile under the user's config directory, mode 0600 in
 * a 0700 directory, written durably (temp file, fsync, rename, fsync of the directory) so a reader never
 * sees half a file and a crash keeps either the old entry or the new one. A process killed between the
 * temp file and the rename leaves the newer entry in the temp file: `recover` puts it in place (the old
 * refresh token may already be spent) and removes every other temp file (they hold refresh tokens).
 * A damaged file is reported by name and left where it is.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsync as fsyncCallback, openSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { dirname, join } from 'node:path';
import { commandLine } from '../../config/invocation.js';
import { ErrorCode, QindexError } from '../../errors.js';
import type { StoredLogin, TokenStore } from '../types.js';
import { isInvalid, parseStoredLogin } from './parse.js';

export function fileStore(dir: string): TokenStore & { path(profile: string): string } {
  const path = (profile: string) => join(dir, `${profile}.json`);
  return {
    kind: 'file',
    path,
    location: path,
    async read(profile) {
      const file = path(profile);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw unreadable(file, e);
      }
      const parsed = parseStoredLogin(text);
      if (isInvalid(parsed)) throw corrupt(file, parsed.invalid, profile);
      return parsed;
    },
    write: (profile, login) => writeAtomic(path(profile), `${JSON.stringify(login, null, 2)}\n`),
    setAside: (profile) => setAsideCorrupt(path(profile)),
    recover: (profile) => recoverTemps(dir, profile),
    async remove(profile) {
      for (const name of await tempsOf(dir, profile)) await unlink(join(dir, name)).catch(() => undefined);
      try {
        await unlink(path(profile));
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw unreadable(path(profile), e);
      }
    },
  };
}

/** Names of the temp files `writeAtomic` makes for this profile's file (`<profile>.json.<pid>.<hex>.tmp`). */
async function tempsOf(dir: string, profile: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((n) => n.startsWith(`${profile}.json.`) && n.endsWith('.tmp'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw unreadable(dir, e);
  }
}

/**
 * Puts the newest valid temp file in place when it is newer than the entry (its writer died before the
 * rename), removes the other temp files, and says what it did. Call it holding the profile's lock: a live
 * writer's temp file exists only while it holds that lock. A damaged entry is left alone with its temps.
 */
export async function recoverTemps(
  dir: string,
  profile: string,
): Promise<{ recovered: boolean; removed: number }> {
  const names = await tempsOf(dir, profile);
  if (names.length === 0) return { recovered: false, removed: 0 };
  const file = join(dir, `${profile}.json`);
  let current: StoredLogin | undefined;
  try {
    current = await fileStore(dir).read(profile);
  } catch {
    return { recovered: false, removed: 0 };
  }
  const newest = {
    at: current ? Date.parse(current.updatedAt) : -Infinity,
    name: undefined as string | undefined,
  };
  for (const name of names) {
    const parsed = parseStoredLogin(await readFile(join(dir, name), 'utf8').catch(() => ''));
    const at = isInvalid(parsed) ? NaN : Date.parse(parsed.updatedAt);
    if (at > newest.at) Object.assign(newest, { at, name });
  }
  if (newest.name) {
    const temp = join(dir, newest.name);
    // Its writer may have died before its fsync: make the content durable before it replaces the entry.
    const handle = await open(temp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(temp, file);
    await syncDir(dir);
  }
  for (const name of names) if (name !== newest.name) await unlink(join(dir, name)).catch(() => undefined);
  return { recovered: newest.name !== undefined, removed: names.length - (newest.name ? 1 : 0) };
}

/** Creates the directory 0700 (and tightens it if it exists: it holds refresh tokens). */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') await chmod(dir, 0o700);
}

/**
 * Temp file in the same directory (same filesystem, so rename is atomic), fsynced, renamed over, and the
 * rename made durable. The temp file is written synchronously, with no await before it: a rotated refresh
 * token is in it (and `recoverTemps` finds it) as early as possible should the process die.
 */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const dir = dirname(file);
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    let fd: number;
    try {
      fd = openSync(temp, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await ensureDir(dir);
      fd = openSync(temp, 'wx', 0o600);
    }
    try {
      writeFileSync(fd, text, 'utf8');
      await fsync(fd);
    } finally {
      closeSync(fd);
    }
    await ensureDir(dir); // tightens a directory someone loosened: it holds refresh tokens
    await rename(temp, file);
    await syncDir(dir);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new QindexError(ErrorCode.TokenStoreWriteFailed, `Could not write the token store file ${file}.`, {
      remedy: 'Check that the directory is writable and the disk is not full, or use --token-store keychain.',
      cause: e,
    });
  }
}

const fsync = promisify(fsyncCallback);

/** Makes a rename in `dir` durable. Windows cannot open a directory, and commits renames itself. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (e) {
    // Some filesystems (network, FUSE) refuse fsync on a directory; the rename itself has happened.
    if (!['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
  } finally {
    await handle.close();
  }
}

/**
 * Moves a damaged file aside (never deleted, never silently overwritten) so a new login can be written.
 * Returns the new name.
 */
export async function setAsideCorrupt(file: string): Promise<string> {
  const aside = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  await rename(file, aside);
  return aside;
}

function corrupt(file: string, reason: string, profile: string): QindexError {
  return new QindexError(
    ErrorCode.TokenStoreCorrupt,
    `The token store file ${file} is damaged (${reason}).`,
    {
      remedy: `It was left as it is. Fix or delete it, then sign in again with \`${commandLine('login', { profile })}\`.`,
    },
  );
}

function unreadable(file: string, cause: unknown): QindexError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new QindexError(
    ErrorCode.TokenStoreUnreadable,
    `Could not access the token store file ${file} (${code}).`,
    {
      remedy: 'Check its owner and permissions (it should be yours, mode 0600).',
      cause,
    },
  );
}

export type { StoredLogin };
