/**
 * @module A sealed write-ahead copy of a keychain entry, for the moment a rotated refresh token has arrived
 * and the keychain has not taken it yet (a D-Bus or Security-framework round trip: a process killed then
 * would lose the only live token). Written synchronously like the file store's temp file, but sealed with
 * AES-256-GCM under a key that lives in the keychain itself, so the disk never holds a readable token.
 * Recovery, under the entry's lock, gives the keychain a sealed copy newer than its entry.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { StoredLogin } from '../types.js';
import { isInvalid, parseStoredLogin } from './parse.js';

/** The file names of `key`'s sealed copies (`<key>.sealed.<pid>.<hex>.tmp`). */
export async function sealedCopies(dir: string, key: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(`${key}.sealed.`) && n.endsWith('.tmp')).map((n) => join(dir, n));
}

/** Writes a sealed copy of `login` (no await before the write); returns its path. */
export function seal(dir: string, key: string, login: StoredLogin, secret: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secret, iv);
  cipher.setAAD(Buffer.from(key)); // a copy only opens as the entry it was made for
  const data = Buffer.concat([cipher.update(JSON.stringify(login), 'utf8'), cipher.final()]);
  const text = JSON.stringify({
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  });
  const path = join(dir, `${key}.sealed.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    fd = openSync(path, 'wx', 0o600);
  }
  try {
    writeFileSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return path;
}

/** The login in a sealed copy, or undefined when it is damaged or sealed under another key. */
export async function unseal(path: string, key: string, secret: Buffer): Promise<StoredLogin | undefined> {
  try {
    const { iv, tag, data } = JSON.parse(await readFile(path, 'utf8')) as Record<string, string>;
    const decipher = createDecipheriv('aes-256-gcm', secret, Buffer.from(iv!, 'base64'));
    decipher.setAAD(Buffer.from(key));
    decipher.setAuthTag(Buffer.from(tag!, 'base64'));
    const text = Buffer.concat([decipher.update(Buffer.from(data!, 'base64')), decipher.final()]).toString(
      'utf8',
    );
    const parsed = parseStoredLogin(text);
    return isInvalid(parsed) ? undefined : parsed;
  } catch {
    return undefined;
  }
}

export const removeCopies = async (paths: string[]) => {
  for (const p of paths) await unlink(p).catch(() => undefined);
};
