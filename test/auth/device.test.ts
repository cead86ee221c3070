/**
 * Device authorization grant against the sandbox IdP: approved, slowed down, denied, expired, cancelled,
 * and a wrong client id, through the structured start (URL, code, how long it waits) that the CLI prints
 * and the server elicits. A failed login never touches the login already stored.
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSignIn, type DeviceLoginOptions, type SignIn, type SignInConfig } from '../../src/auth/index.js';
import { QindexError } from '../../src/errors.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { capturedLogger, leaked, signInConfig, tempDir } from './helpers.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
afterEach(async () => control().clearFaults());

/** Starts a device sign-in and hands its user code to `onCode` (the person at the IdP), then waits. */
async function deviceLogin(
  signIn: SignIn,
  onCode: (userCode: string) => unknown,
  options: DeviceLoginOptions = {},
) {
  const start = await signIn.startDevice(options);
  void onCode(start.userCode);
  return start.completed;
}

async function open(config: SignInConfig = signInConfig(sandbox().description)) {
  const dir = await tempDir();
  const notices: string[] = [];
  const { logger, lines } = capturedLogger();
  const signIn = openSignIn(config, {
    logger,
    env: { QINDEX_CONFIG_DIR: dir },
    notify: (m) => notices.push(m),
  });
  return { dir, signIn, notices, lines, file: join(dir, 'logins', `${config.profile}.json`) };
}

const failure = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  return e as QindexError;
};

describe('device login', () => {
  it('starts with the URL and code, completes once approved (also after slow_down) and stores the login', async () => {
    const { signIn, file, lines } = await open();
    await control().setFault('idp:token', { throttle: 1 }); // the first poll is told to slow down
    const start = await signIn.startDevice();
    expect(start.verificationUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/device$/);
    expect(start.verificationUriComplete).toBe(`${start.verificationUri}?user_code=${start.userCode}`);
    expect(start).toMatchObject({ boundBy: 'code', expiresIn: expect.any(Number) });
    await control().approveDevice({ userCode: start.userCode, username: 'bob' });
    const info = await start.completed;
    expect(info).toMatchObject({
      subject: subjectOf('bob'),
      email: 'bob@example.com',
      store: 'file',
      location: file,
    });
    const stored = JSON.parse(await readFile(file, 'utf8'));
    expect(stored).toMatchObject({
      subject: subjectOf('bob'),
      clientId: sandbox().description.clients.native,
    });
    expect(leaked(JSON.stringify(start) + lines.join(''), [stored.refreshToken])).toBeUndefined();
    expect((await control().counters())['idp:token']).toBeGreaterThanOrEqual(2);
    expect((await signIn.current())?.subject).toBe(subjectOf('bob'));
  });

  it('ends with login_denied, login_timeout (expired code) and cancelled, leaving the stored login alone', async () => {
    const { signIn, file } = await open();
    await deviceLogin(signIn, (userCode) => control().approveDevice({ userCode, username: 'alice' }));
    const kept = await readFile(file, 'utf8');

    const denied = await failure(deviceLogin(signIn, (userCode) => control().denyDevice({ userCode })));
    expect(denied.code).toBe('login_denied');

    const expired = await failure(deviceLogin(signIn, (userCode) => control().expireDevice({ userCode })));
    expect(expired.code).toBe('login_timeout');
    expect(expired.message).toMatch(/device code expired/);

    const ctrlC = new AbortController();
    const cancelled = await failure(deviceLogin(signIn, () => ctrlC.abort(), { signal: ctrlC.signal }));
    expect(cancelled.code).toBe('cancelled');

    const short = await signIn.startDevice({ timeoutSeconds: 1 });
    // The start says the real bound: the time limit, not the code's lifetime.
    expect({ expiresIn: short.expiresIn, boundBy: short.boundBy }).toEqual({
      expiresIn: 1,
      boundBy: 'timeout',
    });
    const limited = await failure(short.completed);
    expect(limited.code).toBe('login_timeout');
    expect(limited.remedy).toContain('--timeout');

    expect(await readFile(file, 'utf8')).toBe(kept);
    expect((await signIn.current())?.subject).toBe(subjectOf('alice'));
  });

  it('moves a damaged store file aside, naming it, instead of overwriting it', async () => {
    const { signIn, file, notices, dir } = await open();
    await mkdir(join(dir, 'logins'), { recursive: true });
    await writeFile(file, 'not json at all', { mode: 0o600 });
    await deviceLogin(signIn, (userCode) => control().approveDevice({ userCode, username: 'erin' }));
    const aside = (await readdir(join(dir, 'logins'))).find((f) => f.startsWith('default.json.corrupt-'));
    expect(aside).toBeDefined();
    expect(await readFile(join(dir, 'logins', aside!), 'utf8')).toBe('not json at all');
    expect(notices.some((n) => n.includes(join(dir, 'logins', aside!)))).toBe(true);
    expect((await signIn.current())?.subject).toBe(subjectOf('erin'));
  });

  it('names a client id the IdP does not know', async () => {
    const { signIn } = await open(
      signInConfig(sandbox().description, { idp: { clientId: 'no-such-client' } }),
    );
    const e = await failure(signIn.startDevice());
    expect(e.code).toBe('wrong_client');
    expect(e.message).toContain('"no-such-client"');
  });
});
