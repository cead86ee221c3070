/**
 * No crash loses a login: kill -9 of a process refreshing in a tight loop (a seeded slice of
 * bench/kill-refresh.ts, aimed at the moments after the IdP has rotated the token), the temp files a killed
 * writer leaves (the newer one recovered, the rest removed) and a lock whose holder died (taken over at
 * once, not after a 15 s timeout).
 */
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { openSignIn } from '../../src/auth/index.js';
import { withProfileLock } from '../../src/auth/lock.js';
import { createOidc } from '../../src/auth/oidc.js';
import { selfIdentity } from '../../src/auth/process.js';
import { refreshGrant } from '../../src/auth/refresh.js';
import { fileStore } from '../../src/auth/store/file.js';
import type { StoredLogin } from '../../src/auth/types.js';
import { QindexError } from '../../src/errors.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { capturedLogger, leaked, signInConfig, tempDir } from './helpers.js';
import { killRefreshLoop } from './kill-harness.js';

const sandbox = useSandbox();
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const holder = fileURLToPath(new URL('./fixtures/hold-lock.ts', import.meta.url));
const KILLS = 16;
const entry = (refreshToken: string, updatedAt: string): StoredLogin => ({
  refreshToken,
  issuer: sandbox().description.issuer,
  clientId: sandbox().description.clients.native,
  subject: 'alice',
  updatedAt,
});

describe('kill -9 in a tight refresh loop', () => {
  it('never loses the login once the rotated token is in a temp file, and leaves no temp file', async () => {
    const figures = await killRefreshLoop({
      description: sandbox().description,
      dir: await tempDir(),
      kills: KILLS,
      seed: 20261201,
      maxDelayMs: 4,
      killAfter: 'temp',
    });
    expect(figures.kills).toBe(KILLS);
    expect(figures).toMatchObject({ losses: 0, lossCodes: [], tempsAfterCheck: 0 });
    // Some kills came before the rename, so the check had a temp file to recover.
    expect(figures.orphanTemps).toBeGreaterThan(0);
  }, 90_000);
});

describe('a rotated refresh token is kept before the rest of the answer is checked', () => {
  it('keeps the login when the answer is then refused (here: no ID token for a grant without openid)', async () => {
    const d = sandbox().description;
    const dir = await tempDir();
    const minted = await controlClient(d.control).mintRefreshToken({
      username: 'alice',
      scope: 'offline_access email',
    });
    const logins = join(dir, 'logins');
    await fileStore(logins).write('default', {
      refreshToken: minted,
      issuer: d.issuer,
      clientId: d.clients.native,
      subject: 'alice',
      updatedAt: '2026-12-01T10:00:00.000Z',
    });
    const signIn = openSignIn(signInConfig(d), {
      logger: capturedLogger().logger,
      env: { QINDEX_CONFIG_DIR: dir },
    });
    for (let i = 0; i < 2; i++) {
      // The IdP rotates, then the answer fails our checks: the second call must still present a live
      // token (a lost rotation would make it login_expired, and the IdP would revoke the grant).
      const e = await signIn.freshIdToken().then(
        () => undefined,
        (err: unknown) => err as QindexError,
      );
      expect(e?.code).toBe('no_id_token');
    }
    expect((await fileStore(logins).read('default'))?.refreshToken).not.toBe(minted);
  });
});

describe('a kill while the refresh request is at the IdP', () => {
  // The IdP rotates whatever happens to the caller: the answer dies with the process, and the store still
  // holds the spent token. A strict IdP then revokes the grant; one with a reuse grace rotates it again.
  it('loses a strictly rotated login, and keeps it where the IdP grants a reuse grace', async () => {
    const d = sandbox().description;
    const config = signInConfig(d);
    const spentLogin = async () => {
      const dir = await tempDir();
      const spent = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
      await refreshGrant(createOidc(config.idp), spent, 'default'); // the answer the killed process never saw
      await fileStore(join(dir, 'logins')).write('default', entry(spent, new Date().toISOString()));
      return openSignIn(config, { logger: capturedLogger().logger, env: { QINDEX_CONFIG_DIR: dir } });
    };
    const strict = await (await spentLogin()).freshIdToken().catch((e: QindexError) => e.code);
    expect(strict).toBe('login_expired');
    await controlClient(d.control).setSwitches({ refreshReuseGraceSeconds: 30 });
    try {
      expect(decodeJwt(await (await spentLogin()).freshIdToken()).email).toBe('alice@example.com');
    } finally {
      await controlClient(d.control).setSwitches({ refreshReuseGraceSeconds: 0 });
    }
  });
});

describe('temp files a killed writer left in logins/', () => {
  const json = (l: StoredLogin) => `${JSON.stringify(l, null, 2)}\n`;

  it('puts the newer one in place (the entry holds a spent token) and removes the rest', async () => {
    const d = sandbox().description;
    const config = signInConfig(d);
    const dir = await tempDir();
    const logins = join(dir, 'logins');
    // The killed process refreshed: the IdP spent `spent` and answered `rotated`, which only reached a temp file.
    const spent = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
    const rotated = (await refreshGrant(createOidc(config.idp), spent, 'default')).refreshToken!;
    await fileStore(logins).write('default', entry(spent, '2026-12-01T10:00:00.000Z'));
    await writeFile(
      join(logins, 'default.json.4242.0badc0de.tmp'),
      json(entry(rotated, '2026-12-01T10:00:01.000Z')),
    );
    await writeFile(
      join(logins, 'default.json.4243.00000001.tmp'),
      json(entry('rt-canary-older-000000', '2026-12-01T09:00:00.000Z')),
    );
    await writeFile(
      join(logins, 'default.json.4244.00000002.tmp'),
      '{"refreshToken": "rt-canary-partial-0000',
    );
    await writeFile(join(logins, 'work.json.4245.00000003.tmp'), json(entry('rt-canary-other-profile', 'x')));
    const { logger, lines } = capturedLogger();
    const signIn = openSignIn(config, { logger, env: { QINDEX_CONFIG_DIR: dir } });
    const idToken = await signIn.freshIdToken();
    expect(decodeJwt(idToken).email).toBe('alice@example.com');
    // Another profile's temp file waits for that profile's lock.
    expect((await readdir(logins)).sort()).toEqual(['default.json', 'work.json.4245.00000003.tmp']);
    const stored = JSON.parse(await readFile(join(logins, 'default.json'), 'utf8')) as StoredLogin;
    expect([spent, rotated]).not.toContain(stored.refreshToken); // the recovered token was used and rotated
    expect(lines.join('')).toContain('Recovered the sign-in a stopped process was saving');
    expect(leaked(lines.join(''), [spent, rotated, stored.refreshToken, idToken])).toBeUndefined();
  });

  it('removes temp files older than the entry, and logout removes any that are left', async () => {
    const d = sandbox().description;
    const config = signInConfig(d);
    const dir = await tempDir();
    const logins = join(dir, 'logins');
    const live = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
    await fileStore(logins).write('default', entry(live, '2026-12-01T10:00:00.000Z'));
    const stale = json(entry('rt-canary-stale-000000', '2026-12-01T09:59:59.000Z'));
    await writeFile(join(logins, 'default.json.4246.00000004.tmp'), stale);
    const signIn = openSignIn(config, { logger: capturedLogger().logger, env: { QINDEX_CONFIG_DIR: dir } });
    expect(decodeJwt(await signIn.freshIdToken()).email).toBe('alice@example.com');
    expect(await readdir(logins)).toEqual(['default.json']);
    await writeFile(join(logins, 'default.json.4247.00000005.tmp'), stale);
    expect(await signIn.logout()).toMatchObject({ removed: true, revoked: true });
    expect(await readdir(logins)).toEqual([]);
  });
});

describe('a sign-in lock whose holder is gone', () => {
  const busy = async (p: Promise<unknown>) => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(QindexError);
    expect((e as QindexError).code).toBe('sign_in_busy');
    return e as QindexError;
  };
  const ran = () => Promise.resolve('ran');

  it('waits for a live holder (naming it) and takes over at once when it is killed', async () => {
    const locks = join(await tempDir(), 'locks');
    const child = spawn(process.execPath, ['--import', tsx, holder], {
      env: { PATH: process.env.PATH, LOCK_DIR: locks },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.on('close', r));
    const pid = await new Promise<number>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        const m = /^held (\d+)/.exec(String(c));
        if (m) resolve(Number(m[1]));
      }),
    );
    try {
      const e = await busy(withProfileLock('default', { dir: locks, waitMs: 300 }, ran));
      expect(e.message).toContain(`qindex-mcp process ${pid} on ${hostname()}`);
      expect(e.retryable).toBe(true);
    } finally {
      child.kill('SIGKILL'); // it never exits by itself
      await exited;
    }
    // The dead holder's lock is still there; its heartbeat is fresh, so only the pid check can free it
    // within this wait (a stale-by-age rule would need 15 s).
    expect(await readdir(locks)).toEqual(['default.lock']);
    expect(await withProfileLock('default', { dir: locks, waitMs: 2000 }, ran)).toBe('ran');
    expect(await readdir(locks)).toEqual([]);
  });

  it.runIf(process.platform === 'linux')(
    'takes over from a reused pid (same pid, another start time)',
    async () => {
      const locks = join(await tempDir(), 'locks');
      await mkdir(locks, { recursive: true });
      // This very process has the pid; the record says another process with that pid started earlier.
      const owner = { ...selfIdentity(), start: '1', nonce: 'feedface', since: new Date().toISOString() };
      await writeFile(join(locks, 'default.lock'), JSON.stringify(owner));
      expect(await withProfileLock('default', { dir: locks, waitMs: 300 }, ran)).toBe('ran');
    },
  );

  it('judges a lock it cannot check (another host, an earlier version) by its heartbeat', async () => {
    const locks = join(await tempDir(), 'locks');
    await mkdir(locks, { recursive: true });
    const other = join(locks, 'other.lock');
    const old = join(locks, 'old.lock');
    await writeFile(other, JSON.stringify({ pid: 1, host: 'elsewhere', nonce: 'n', since: 'x' }));
    await mkdir(old); // earlier versions' proper-lockfile lock: a bare directory
    await busy(withProfileLock('other', { dir: locks, waitMs: 200 }, ran));
    await busy(withProfileLock('old', { dir: locks, waitMs: 200 }, ran));
    const minuteAgo = new Date(Date.now() - 60_000);
    for (const p of [other, old]) await utimes(p, minuteAgo, minuteAgo);
    expect(await withProfileLock('other', { dir: locks, waitMs: 200 }, ran)).toBe('ran');
    expect(await withProfileLock('old', { dir: locks, waitMs: 200 }, ran)).toBe('ran');
    expect(await readdir(locks)).toEqual([]);
  });
});
