/**
 * @module The file token store: one JSON file per profile under the user's config directory, mode 0600 in
 * a 0700 directory, written atomically (temp file, fsync, rename) so a reader never sees half a file.
 * A damaged file is reported by name and left where it is.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { QindexError } from '../../errors.js';
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
    async write(profile, login) {
      await ensureDir(dir);
      await writeAtomic(path(profile), `${JSON.stringify(login, null, 2)}\n`);
    },
    setAside: (profile) => setAsideCorrupt(path(profile)),
    async remove(profile) {
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

/** Creates the directory 0700 (and tightens it if it exists: it holds refresh tokens). */
export async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (process.platform !== 'win32') await chmod(dir, 0o700);
}

/** Temp file in the same directory (same filesystem, so rename is atomic), fsynced, then renamed over. */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw new QindexError('token_store_write_failed', `Could not write the token store file ${file}.`, {
      remedy: 'Check that the directory is writable and the disk is not full, or use --token-store keychain.',
      cause: e,
    });
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
  return new QindexError('token_store_corrupt', `The token store file ${file} is damaged (${reason}).`, {
    remedy: `It was left as it is. Fix or delete it, then sign in again with \`qindex-mcp login --profile ${profile}\`.`,
  });
}

function unreadable(file: string, cause: unknown): QindexError {
  const code = (cause as NodeJS.ErrnoException).code ?? 'error';
  return new QindexError(
    'token_store_unreadable',
    `Could not access the token store file ${file} (${code}).`,
    {
      remedy: 'Check its owner and permissions (it should be yours, mode 0600).',
      cause,
    },
  );
}

export type { StoredLogin };
