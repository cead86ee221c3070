/**
 * Two processes, one login: two spawned node processes share one file store and one rotating refresh token
 * and refresh at the same moment, repeatedly. The lock and the re-read inside it mean every refresh works
 * and the stored token still works afterwards (without them the IdP sees a rotated token reused and
 * revokes the whole grant).
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { openSignIn } from '../../src/auth/index.js';
import { fileStore } from '../../src/auth/store/file.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { capturedLogger, leaked, runNode, signInConfig, tempDir } from './helpers.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const child = fileURLToPath(new URL('./fixtures/refresh-loop.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const ROUNDS = 8;

describe('concurrent refresh from two processes', () => {
  it('never loses the login: every refresh succeeds and the stored token still works', async () => {
    const d = sandbox().description;
    const control = controlClient(d.control);
    const dir = await tempDir();
    const refreshToken = await control.mintRefreshToken({ username: 'bob' });
    await fileStore(join(dir, 'logins')).write('default', {
      refreshToken,
      issuer: d.issuer,
      clientId: d.clients.native,
      subject: subjectOf('bob'),
      updatedAt: new Date().toISOString(),
    });
    const before = (await control.counters())['idp:token'] ?? 0;
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      QINDEX_CONFIG_DIR: dir,
      ISSUER: d.issuer,
      CLIENT_ID: d.clients.native,
      ROUNDS: String(ROUNDS),
      START_AT: String(Date.now() + 2500),
    };
    const children = await Promise.all(
      [1, 2].map(() => runNode(['--import', tsx, child], env, { timeoutMs: 40_000 })),
    );
    const results = children.map((c) => {
      expect(c.stderr).toBe('');
      expect(leaked(c.stdout, [refreshToken])).toBeUndefined();
      return JSON.parse(c.stdout.trim()) as { ok: number; errors: string[]; subjects: string[] };
    });
    for (const r of results) expect(r).toEqual({ ok: ROUNDS, errors: [], subjects: [subjectOf('bob')] });
    // Each refresh went to the IdP exactly once: none was retried, none reused a rotated token.
    expect((await control.counters())['idp:token']).toBe(before + 2 * ROUNDS);
    const after = openSignIn(signInConfig(d), {
      logger: capturedLogger().logger,
      env: { QINDEX_CONFIG_DIR: dir },
    });
    expect(decodeJwt(await after.freshIdToken()).sub).toBe(subjectOf('bob'));
  }, 60_000);

  // With the memory store each process used to keep the successor to itself: the second one then presented
  // the spent token and the IdP revoked the login for both (and for every later process).
  it.each(['file', 'memory'] as const)(
    'keeps a login that two processes share through QINDEX_REFRESH_TOKEN (%s store: rotation chained on disk)',
    async (store) => {
      const d = sandbox().description;
      const control = controlClient(d.control);
      const dir = await tempDir();
      const refreshToken = await control.mintRefreshToken({ username: 'carol' });
      const before = (await control.counters())['idp:token'] ?? 0;
      const env = {
        PATH: process.env.PATH,
        HOME: dir,
        QINDEX_CONFIG_DIR: dir,
        QINDEX_REFRESH_TOKEN: refreshToken,
        STORE: store,
        ISSUER: d.issuer,
        CLIENT_ID: d.clients.native,
        ROUNDS: String(ROUNDS),
        START_AT: String(Date.now() + 2500),
      };
      const children = await Promise.all(
        [1, 2].map(() => runNode(['--import', tsx, child], env, { timeoutMs: 40_000 })),
      );
      for (const c of children) {
        expect(c.stderr).toBe('');
        expect(leaked(c.stdout, [refreshToken])).toBeUndefined();
        expect(JSON.parse(c.stdout.trim())).toEqual({
          ok: ROUNDS,
          errors: [],
          subjects: [subjectOf('carol')],
        });
      }
      expect((await control.counters())['idp:token']).toBe(before + 2 * ROUNDS);
      // A server started later with the same (long retired) environment token still signs in.
      const later = openSignIn(
        { ...signInConfig(d), tokenStore: store },
        {
          logger: capturedLogger().logger,
          env: { QINDEX_CONFIG_DIR: dir, QINDEX_REFRESH_TOKEN: refreshToken },
        },
      );
      expect(decodeJwt(await later.freshIdToken()).sub).toBe(subjectOf('carol'));
    },
    60_000,
  );
});
