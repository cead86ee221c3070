/**
 * Token stores without an IdP: the file store's mode bits, atomic writes, damaged files named and left
 * alone, the memory store, and the auto store's one-time fallback notice.
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSignIn } from '../../src/auth/index.js';
import { fileStore, memoryStore, openTokenStore } from '../../src/auth/store/index.js';
import { keychainAvailable } from '../../src/auth/store/keychain.js';
import type { StoredLogin } from '../../src/auth/types.js';
import { QindexError } from '../../src/errors.js';
import { capturedLogger, runNode, tempDir } from './helpers.js';

const login = (n: number, pad = 0): StoredLogin => ({
  refreshToken: `rt-canary-${n}-${'x'.repeat(pad)}`,
  issuer: 'https://idp.example',
  clientId: 'qindex-mcp',
  subject: `user-${n}`,
  email: `user-${n}@example.com`,
  scope: 'openid offline_access',
  updatedAt: new Date().toISOString(),
});

const mode = async (p: string) => (await stat(p)).mode & 0o777;

describe('file store', () => {
  it('writes 0600 files in 0700 directories and reads them back', async () => {
    const root = await tempDir();
    const dir = join(root, 'config', 'logins');
    const store = fileStore(dir);
    expect(await store.read('default')).toBeUndefined();
    const one = login(1);
    await store.write('default', one);
    expect(await store.read('default')).toEqual(one);
    expect(await mode(join(dir, 'default.json'))).toBe(0o600);
    expect(await mode(dir)).toBe(0o700);
    // A directory that existed with loose permissions is tightened: it holds refresh tokens.
    await mkdir(join(root, 'loose'), { mode: 0o755 });
    await fileStore(join(root, 'loose')).write('work', login(2));
    expect(await mode(join(root, 'loose'))).toBe(0o700);
    expect(await readdir(dir)).toEqual(['default.json']);
    expect(await store.remove('default')).toBe(true);
    expect(await store.remove('default')).toBe(false);
  });

  it('replaces the file atomically: a concurrent reader never sees a partial file, no temp files remain', async () => {
    const dir = await tempDir();
    const store = fileStore(dir);
    // Large entries make a non-atomic (truncate-then-write) update visible to a reader.
    const written = Array.from({ length: 40 }, (_, i) => login(i, 200_000));
    await store.write('default', written[0]!);
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const seen = await store.read('default'); // throws token_store_corrupt on a partial file
        expect(written.some((w) => w.subject === seen?.subject && w.refreshToken === seen.refreshToken)).toBe(
          true,
        );
        reads++;
      }
    })();
    await Promise.all(written.map((w) => store.write('default', w)));
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(await readdir(dir)).toEqual(['default.json']);
  });

  it('removes its temp file when the rename fails and says which file could not be written', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'default.json')); // a directory where the file should be: rename fails
    const error = await fileStore(dir)
      .write('default', login(1))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(QindexError);
    expect((error as QindexError).code).toBe('token_store_write_failed');
    expect((error as QindexError).message).toContain(join(dir, 'default.json'));
    expect(await readdir(dir)).toEqual(['default.json']);
  });

  it('reports a damaged file by name and leaves it untouched (store, freshIdToken, current)', async () => {
    const dir = await tempDir();
    const file = join(dir, 'logins', 'default.json');
    await mkdir(join(dir, 'logins'), { recursive: true });
    const garbage = '{"refreshToken": "rt-canary-partial", "issuer": ';
    await writeFile(file, garbage, { mode: 0o600 });
    const before = await stat(file);
    const { logger, lines } = capturedLogger();
    const signIn = openSignIn(
      {
        profile: 'default',
        tokenStore: 'file',
        idp: {
          issuer: 'https://idp.invalid',
          clientId: 'qindex-mcp',
          scopes: ['openid'],
          redirectPort: 0,
          redirectPath: '/callback',
        },
      },
      { logger, env: { QINDEX_CONFIG_DIR: dir } },
    );
    for (const attempt of [
      () => fileStore(join(dir, 'logins')).read('default'),
      () => signIn.freshIdToken(),
      () => signIn.current(),
      () => signIn.logout(),
    ]) {
      const error = (await attempt().catch((e: unknown) => e)) as QindexError;
      expect(error.code).toBe('token_store_corrupt');
      expect(error.message).toContain(file);
      expect(error.message).toContain('not valid JSON');
      expect(error.remedy).toMatch(/left as it is/);
      expect(error.message + error.remedy).not.toContain('rt-canary');
    }
    expect(await readFile(file, 'utf8')).toBe(garbage);
    expect((await stat(file)).mtimeMs).toBe(before.mtimeMs);
    expect(lines.join('')).not.toContain('rt-canary');
  });

  it('names the missing field of an entry that is JSON but not a login', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'work.json'), JSON.stringify({ issuer: 'x', clientId: 'y' }));
    const error = (await fileStore(dir)
      .read('work')
      .catch((e: unknown) => e)) as QindexError;
    expect(error.code).toBe('token_store_corrupt');
    expect(error.message).toContain('"refreshToken" is missing');
  });
});

describe('memory and auto stores', () => {
  it('keeps logins per profile in memory for the life of the process', async () => {
    const store = memoryStore();
    await store.write('a', login(1));
    await store.write('b', login(2));
    expect((await memoryStore().read('a'))?.subject).toBe('user-1');
    expect((await store.read('b'))?.subject).toBe('user-2');
    expect(await store.remove('a')).toBe(true);
    expect(await store.read('a')).toBeUndefined();
  });

  it('falls back to the file store without a Secret Service and says so once, naming the path', async (ctx) => {
    if (keychainAvailable()) ctx.skip(); // only meaningful where no keychain is reachable (this CI has none outside dbus-run-session)
    const dir = await tempDir();
    const notices: string[] = [];
    const env = { QINDEX_CONFIG_DIR: dir };
    const first = openTokenStore('auto', { env, notify: (m) => notices.push(m) });
    const second = openTokenStore('auto', { env, notify: (m) => notices.push(m) });
    expect(first.kind).toBe('file');
    expect(second.kind).toBe('file');
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(`falling back to file store at ${join(dir, 'logins')}`);
    // Once per store, not once per process: a later command (a new process) stays quiet.
    const later = await runNode(
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { openTokenStore } = await import(${JSON.stringify(new URL('../../src/auth/store/index.ts', import.meta.url).href)}); openTokenStore('auto', { notify: (m) => console.log(m) });`,
      ],
      { PATH: process.env.PATH, QINDEX_CONFIG_DIR: dir },
    );
    expect(later.code, later.stderr).toBe(0);
    expect(later.stdout).toBe('');
    const error = (() => {
      try {
        openTokenStore('keychain', { env });
      } catch (e) {
        return e as QindexError;
      }
    })();
    expect(error?.code).toBe('keychain_unavailable');
    expect(error?.remedy).toContain('--token-store file');
  });
});
