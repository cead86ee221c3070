/**
 * Headless refresh against the sandbox IdP: a new ID token every call, rotation persisted, QINDEX_REFRESH_TOKEN
 * rotated in memory, and the faults (revoked token, unreachable or down IdP, wrong client id, mismatched
 * profile) as clear errors that lose nothing and never carry a token.
 */
import { createServer } from 'node:net';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { openSignIn, type SignInConfig } from '../../src/auth/index.js';
import { createOidc } from '../../src/auth/oidc.js';
import { refreshGrant } from '../../src/auth/refresh.js';
import { fileStore } from '../../src/auth/store/file.js';
import { QindexError } from '../../src/errors.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { capturedLogger, leaked, signInConfig, tempDir } from './helpers.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
afterEach(async () => {
  await control().setSwitches({ idpDown: false });
  await control().clearFaults();
});

/** A file-store login for `username` with a freshly minted refresh token; returns the dir and the token. */
async function seed(config: SignInConfig, username = 'alice', clientId = config.idp.clientId) {
  const dir = await tempDir();
  const refreshToken = await control().mintRefreshToken({
    username,
    clientId: sandbox().description.clients.native,
  });
  await fileStore(join(dir, 'logins')).write(config.profile, {
    refreshToken,
    issuer: config.idp.issuer,
    clientId,
    subject: subjectOf(username),
    updatedAt: '2026-01-01T00:00:00.000Z',
  });
  return { dir, refreshToken, file: join(dir, 'logins', `${config.profile}.json`) };
}

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  return e as QindexError;
};

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('freshIdToken from the store', () => {
  it('returns a new validated ID token on every call and persists each rotated refresh token', async () => {
    const d = sandbox().description;
    const config = signInConfig(d, { profile: 'work' });
    const { dir, refreshToken, file } = await seed(config);
    const { logger, lines } = capturedLogger();
    const signIn = openSignIn(config, { logger, env: { QINDEX_CONFIG_DIR: dir } });
    const before = (await control().counters())['idp:token'] ?? 0;
    const seen = new Set<string>([refreshToken]);
    const idTokens: string[] = [];
    for (let i = 0; i < 3; i++) {
      idTokens.push(await signIn.freshIdToken());
      const stored = JSON.parse(await readFile(file, 'utf8'));
      expect(seen.has(stored.refreshToken)).toBe(false); // rotated and written back
      seen.add(stored.refreshToken);
      expect(stored.updatedAt).not.toBe('2026-01-01T00:00:00.000Z');
    }
    expect((await control().counters())['idp:token']).toBe(before + 3);
    expect(new Set(idTokens).size).toBe(3);
    for (const t of idTokens)
      expect(decodeJwt(t)).toMatchObject({ sub: subjectOf('alice'), aud: d.clients.native, iss: d.issuer });
    expect(await signIn.current()).toMatchObject({
      profile: 'work',
      subject: subjectOf('alice'),
      email: 'alice@example.com',
      store: 'file',
      location: file,
    });
    expect(await readdir(join(dir, 'logins'))).toEqual(['work.json']);
    // The first refresh token was consumed by the rotation: the IdP refuses it now.
    const old = await failure(refreshGrant(createOidc(config.idp), refreshToken, 'work'));
    expect(old.code).toBe('login_expired');
    expect(leaked(lines.join(''), [...seen, ...idTokens])).toBeUndefined();
  });

  it('turns a revoked refresh token into login_expired naming the login command, and keeps the entry', async () => {
    const d = sandbox().description;
    const config = signInConfig(d, { profile: 'work' });
    const { dir, refreshToken, file } = await seed(config, 'carol');
    const { logger, lines } = capturedLogger();
    const signIn = openSignIn(config, { logger, env: { QINDEX_CONFIG_DIR: dir } });
    expect(await control().revokeUser('carol')).toBeGreaterThan(0);
    const before = await readFile(file, 'utf8');
    const e = await failure(signIn.freshIdToken());
    expect(e.code).toBe('login_expired');
    expect(e.message).toContain('profile "work"');
    expect(e.remedy).toBe('Sign in again with `qindex-mcp login --profile work`.');
    expect(leaked(`${e.message}${e.remedy}${lines.join('')}`, [refreshToken])).toBeUndefined();
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('says not_signed_in with the remedy when the profile has no login', async () => {
    const d = sandbox().description;
    const signIn = openSignIn(signInConfig(d), {
      logger: capturedLogger().logger,
      env: { QINDEX_CONFIG_DIR: await tempDir() },
    });
    const e = await failure(signIn.freshIdToken());
    expect(e.code).toBe('not_signed_in');
    expect(e.remedy).toContain('qindex-mcp login');
    expect(await signIn.current()).toBeUndefined();
  });

  it('refuses a login made for another client id instead of sending it elsewhere', async () => {
    const d = sandbox().description;
    const config = signInConfig(d);
    const { dir } = await seed(config, 'alice', d.clients.isv);
    const e = await failure(
      openSignIn(config, { logger: capturedLogger().logger, env: { QINDEX_CONFIG_DIR: dir } }).freshIdToken(),
    );
    expect(e.code).toBe('profile_mismatch');
    expect(e.message).toContain(`client "${d.clients.isv}"`);
  });

  it('reports a client id the IdP does not know as wrong_client, naming it', async () => {
    const d = sandbox().description;
    const config = signInConfig(d, { idp: { clientId: 'no-such-client' } });
    const { dir, refreshToken } = await seed(config);
    const e = await failure(
      openSignIn(config, { logger: capturedLogger().logger, env: { QINDEX_CONFIG_DIR: dir } }).freshIdToken(),
    );
    expect(e.code).toBe('wrong_client');
    expect(e.message).toContain('"no-such-client"');
    expect(e.remedy).toContain('idp.clientId');
    expect(leaked(e.message, [refreshToken])).toBeUndefined();
  });
});

describe('the IdP unreachable, down or insecure', () => {
  it('refuses a plain-HTTP issuer that is not a loopback address', () => {
    const idp = signInConfig(sandbox().description, { idp: { issuer: 'http://idp.example.com' } }).idp;
    expect(() => createOidc(idp)).toThrow(expect.objectContaining({ code: 'insecure_issuer' }));
    expect(createOidc({ ...idp, issuer: sandbox().description.issuer }).issuer).toBe(
      sandbox().description.issuer,
    );
  });

  it('names the discovery URL when nothing listens at the issuer', async () => {
    const issuer = `http://127.0.0.1:${await closedPort()}`;
    const signIn = openSignIn(signInConfig(sandbox().description, { idp: { issuer } }), {
      logger: capturedLogger().logger,
      env: {},
    });
    // A login exists in memory, so the failure is the IdP's, not the store's.
    const env = { QINDEX_REFRESH_TOKEN: 'rt-canary-unreachable-000000' };
    const withEnv = openSignIn(
      signInConfig(sandbox().description, { idp: { issuer }, tokenStore: 'memory' }),
      { logger: capturedLogger().logger, env },
    );
    for (const s of [signIn, withEnv]) {
      const e = await failure(s === signIn ? s.startDevice() : s.freshIdToken());
      expect(e.code).toBe('idp_unavailable');
      expect(e.message).toContain(`${issuer}/.well-known/openid-configuration`);
      expect(e.message).toContain('ECONNREFUSED');
      expect(e.retryable).toBe(true);
      expect(e.message).not.toContain('rt-canary');
    }
  });

  it('names the URL and keeps the login when the IdP answers 503 (at discovery and at the token endpoint)', async () => {
    const d = sandbox().description;
    const config = signInConfig(d);
    const { dir, file } = await seed(config);
    const before = await readFile(file, 'utf8');
    const waits: number[] = [];
    const warm = openSignIn(config, {
      logger: capturedLogger().logger,
      env: { QINDEX_CONFIG_DIR: dir },
      refreshRetry: { sleep: async (ms) => void waits.push(ms) },
    });
    await warm.freshIdToken(); // discovery cached, login rotated
    const rotated = await readFile(file, 'utf8');
    expect(rotated).not.toBe(before);
    await control().setSwitches({ idpDown: true });
    const cold = openSignIn(config, { logger: capturedLogger().logger, env: { QINDEX_CONFIG_DIR: dir } });
    const atDiscovery = await failure(cold.freshIdToken());
    expect(atDiscovery.code).toBe('idp_unavailable');
    expect(atDiscovery.message).toContain(`${d.issuer}/.well-known/openid-configuration`);
    expect(atDiscovery.message).toContain('503');
    const atToken = await failure(warm.freshIdToken());
    expect(atToken.message).toContain(`${d.issuer}/token`);
    expect(atToken.message).toContain('503');
    expect(atToken.message).toContain('to 4 refresh attempts'); // asked again, backing off
    expect(waits).toHaveLength(3);
    expect(atToken.retryable).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(rotated);
    await control().setSwitches({ idpDown: false });
    expect(decodeJwt(await cold.freshIdToken()).sub).toBe(subjectOf('alice')); // nothing was lost
  });
});

describe('the IdP rate-limits the refresh grant (429) or is briefly unavailable (503)', () => {
  /** A sign-in that records the waits it is asked for instead of sleeping through them. */
  async function rateLimited() {
    const d = sandbox().description;
    const config = signInConfig(d);
    const seeded = await seed(config);
    const waits: number[] = [];
    const { logger, lines } = capturedLogger();
    const signIn = openSignIn(config, {
      logger,
      env: { QINDEX_CONFIG_DIR: seeded.dir },
      refreshRetry: { sleep: async (ms) => void waits.push(ms) },
    });
    const calls = async () => (await control().counters())['idp:token'] ?? 0;
    return { ...seeded, signIn, waits, lines, calls, before: await calls() };
  }

  it('waits as long as Retry-After says (seconds) and then refreshes', async () => {
    const r = await rateLimited();
    await control().setFault('idp:token', { throttle: 2, retryAfter: '2' });
    expect(decodeJwt(await r.signIn.freshIdToken()).email).toBe('alice@example.com');
    expect(r.waits).toEqual([2000, 2000]);
    expect(await r.calls()).toBe(r.before + 3);
    expect(JSON.parse(await readFile(r.file, 'utf8')).refreshToken).not.toBe(r.refreshToken);
  });

  it('honours an HTTP-date Retry-After, and backs off on a 503 that gives none', async () => {
    const r = await rateLimited();
    const at = new Date(Date.now() + 4000).toUTCString();
    await control().setFault('idp:token', {
      error: { code: 'temporarily_unavailable', message: 'maintenance', status: 503, count: 1 },
      retryAfter: at,
    });
    await r.signIn.freshIdToken();
    expect(r.waits).toHaveLength(1);
    // Up to 4 s, less the time since the fault was armed (an HTTP-date has whole seconds).
    expect(r.waits[0]).toBeGreaterThan(1000);
    expect(r.waits[0]).toBeLessThanOrEqual(4000);
    await control().setFault('idp:token', {
      error: { code: 'temporarily_unavailable', message: 'maintenance', status: 503, count: 1 },
    });
    await r.signIn.freshIdToken();
    expect(r.waits).toHaveLength(2);
    expect(r.waits[1]).toBeLessThan(1000); // the first backoff step, 0.5 s ± 25 %
    expect(await r.calls()).toBe(r.before + 4);
  });

  it('gives up within its bounds with a retryable error that says the IdP is rate-limiting; the login stays', async () => {
    const r = await rateLimited();
    const stored = await readFile(r.file, 'utf8');
    await control().setFault('idp:token', { throttle: 10 });
    const e = await failure(r.signIn.freshIdToken());
    expect(e.code).toBe('throttled');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(`${sandbox().description.issuer}/token is rate-limiting sign-in`);
    expect(e.message).toContain(
      'HTTP 429 (temporarily_unavailable: too many requests) to 4 refresh attempts over 3.0 s',
    );
    expect(r.waits).toEqual([1000, 1000, 1000]);
    expect(await r.calls()).toBe(r.before + 4);
    expect(await readFile(r.file, 'utf8')).toBe(stored);
    // A Retry-After beyond the bound is not waited for at all.
    await control().setFault('idp:token', { throttle: 1, retryAfter: '3600' });
    const now = await failure(r.signIn.freshIdToken());
    expect(now.message).toContain('to 1 refresh attempt over 0.0 s and asks to wait 3600 s more');
    expect(r.waits).toHaveLength(3);
    await control().clearFaults();
    expect(decodeJwt(await r.signIn.freshIdToken()).email).toBe('alice@example.com');
    expect(leaked(`${e.message}${now.message}${r.lines.join('')}`, [r.refreshToken])).toBeUndefined();
  });
});

describe('QINDEX_REFRESH_TOKEN', () => {
  it('refreshes headlessly; the rotated token is chained in the store, never the profile login', async () => {
    const d = sandbox().description;
    const dir = await tempDir();
    const refreshToken = await control().mintRefreshToken({ username: 'dave' });
    const { logger, lines } = capturedLogger();
    const signIn = openSignIn(signInConfig(d, { tokenStore: 'file' }), {
      logger,
      env: { QINDEX_CONFIG_DIR: dir, QINDEX_REFRESH_TOKEN: refreshToken },
    });
    const tokens = [await signIn.freshIdToken(), await signIn.freshIdToken(), await signIn.freshIdToken()];
    expect(tokens.map((t) => decodeJwt(t).sub)).toEqual(Array(3).fill(subjectOf('dave')));
    expect(await signIn.current()).toMatchObject({
      subject: subjectOf('dave'),
      store: 'env',
      location: 'QINDEX_REFRESH_TOKEN',
    });
    // The profile's own login is untouched; the successor of the environment's token sits beside it
    // under a key derived from that token (so several servers started with it share the rotation).
    const logins = await readdir(join(dir, 'logins'));
    expect(logins).toHaveLength(1);
    expect(logins[0]).toMatch(/^default\.env-[0-9a-f]{16}\.json$/);
    const chained = await readFile(join(dir, 'logins', logins[0]!), 'utf8');
    expect(chained).not.toContain(refreshToken);
    expect(leaked(lines.join(''), [refreshToken, ...tokens])).toBeUndefined();
  });

  it('chains the rotation through the file store with the memory store too, and says so once', async () => {
    const d = sandbox().description;
    const dir = await tempDir();
    const refreshToken = await control().mintRefreshToken({ username: 'dave' });
    const notices: string[] = [];
    const signIn = openSignIn(signInConfig(d, { tokenStore: 'memory' }), {
      logger: capturedLogger().logger,
      env: { QINDEX_CONFIG_DIR: dir, QINDEX_REFRESH_TOKEN: refreshToken },
      notify: (m) => notices.push(m),
    });
    for (let i = 0; i < 3; i++) expect(decodeJwt(await signIn.freshIdToken()).sub).toBe(subjectOf('dave'));
    const logins = await readdir(join(dir, 'logins'));
    expect(logins).toEqual([expect.stringMatching(/^default\.env-[0-9a-f]{16}\.json$/)]);
    expect(await readFile(join(dir, 'logins', logins[0]!), 'utf8')).not.toContain(refreshToken);
    expect(notices).toEqual([
      `The IdP rotated QINDEX_REFRESH_TOKEN: its successor is kept in ${join(dir, 'logins', logins[0]!)} (mode 0600) so that every qindex-mcp started with the same token keeps the login.`,
    ]);
    expect(leaked(notices.join(''), [refreshToken])).toBeUndefined();
  });
});
