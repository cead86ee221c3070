/**
 * Device authorization grant against the sandbox IdP: approved, slowed down, denied, expired, cancelled,
 * and a wrong client id. A failed login never touches the login already stored.
 */
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { openSignIn, type SignInConfig } from '../../src/auth/index.js';
import { QindexError } from '../../src/errors.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { capturedLogger, leaked, signInConfig, tempDir } from './helpers.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
afterEach(async () => control().clearFaults());

/** Collects what the login prints and calls `onCode` once with the user code. */
function terminal(onCode: (userCode: string) => void) {
  let text = '';
  let called = false;
  const output = new Writable({
    write(chunk, _enc, cb) {
      text += String(chunk);
      const m = /enter the code: (\S+)/.exec(text);
      if (m && !called) {
        called = true;
        onCode(m[1]!);
      }
      cb();
    },
  });
  return { output, text: () => text };
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
  it('shows the URL, code and QR, completes once approved (also after slow_down) and stores the login', async () => {
    const { signIn, file, lines } = await open();
    await control().setFault('idp:token', { throttle: 1 }); // the first poll is told to slow down
    const term = terminal((userCode) => void control().approveDevice({ userCode, username: 'bob' }));
    const info = await signIn.loginDevice({ output: term.output });
    expect(info).toMatchObject({
      subject: subjectOf('bob'),
      email: 'bob@example.com',
      store: 'file',
      location: file,
    });
    const shown = term.text();
    expect(shown).toMatch(/To sign in, open http:\/\/127\.0\.0\.1:\d+\/device/);
    expect(shown).toMatch(/Or open http:\/\/127\.0\.0\.1:\d+\/device\?user_code=/);
    expect(shown).toContain('▄'); // the QR code
    const stored = JSON.parse(await readFile(file, 'utf8'));
    expect(stored).toMatchObject({
      subject: subjectOf('bob'),
      clientId: sandbox().description.clients.native,
    });
    expect(leaked(shown + lines.join(''), [stored.refreshToken])).toBeUndefined();
    expect((await control().counters())['idp:token']).toBeGreaterThanOrEqual(2);
    expect((await signIn.current())?.subject).toBe(subjectOf('bob'));
  });

  it('ends with login_denied, login_timeout (expired code) and cancelled, leaving the stored login alone', async () => {
    const { signIn, file } = await open();
    await signIn.loginDevice({
      output: terminal((userCode) => void control().approveDevice({ userCode, username: 'alice' })).output,
    });
    const kept = await readFile(file, 'utf8');

    const denied = await failure(
      signIn.loginDevice({ output: terminal((userCode) => void control().denyDevice({ userCode })).output }),
    );
    expect(denied.code).toBe('login_denied');

    const expired = await failure(
      signIn.loginDevice({
        output: terminal((userCode) => void control().expireDevice({ userCode })).output,
      }),
    );
    expect(expired.code).toBe('login_timeout');
    expect(expired.message).toMatch(/device code expired/);

    const ctrlC = new AbortController();
    const cancelled = await failure(
      signIn.loginDevice({ signal: ctrlC.signal, output: terminal(() => ctrlC.abort()).output }),
    );
    expect(cancelled.code).toBe('cancelled');

    const limited = await failure(
      signIn.loginDevice({ timeoutSeconds: 1, output: terminal(() => undefined).output }),
    );
    expect(limited.code).toBe('login_timeout');
    expect(limited.remedy).toContain('--timeout');

    expect(await readFile(file, 'utf8')).toBe(kept);
    expect((await signIn.current())?.subject).toBe(subjectOf('alice'));
  });

  it('moves a damaged store file aside, naming it, instead of overwriting it', async () => {
    const { signIn, file, notices, dir } = await open();
    await mkdir(join(dir, 'logins'), { recursive: true });
    await writeFile(file, 'not json at all', { mode: 0o600 });
    await signIn.loginDevice({
      output: terminal((userCode) => void control().approveDevice({ userCode, username: 'erin' })).output,
    });
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
    const e = await failure(signIn.loginDevice({ output: terminal(() => undefined).output }));
    expect(e.code).toBe('wrong_client');
    expect(e.message).toContain('"no-such-client"');
  });
});
