/**
 * `qindex-mcp login | whoami | logout` as spawned processes (dist/src/cli.js) against the sandbox IdP:
 * device login approved through the control API, browser login in headless Chromium, logout with and
 * without the IdP, Ctrl-C, usage errors, an unreachable IdP, and no token ever printed.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createOidc } from '../../src/auth/oidc.js';
import { refreshGrant } from '../../src/auth/refresh.js';
import { fileStore } from '../../src/auth/store/file.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { CHROMIUM, launchChromium, signInWithBrowser } from '../helpers/chromium.js';
import { cliEnv, leaked, runNode, signInConfig, tempDir, type RunOptions } from '../auth/helpers.js';
import { useSandbox } from '../helpers/sandbox.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const CLI = fileURLToPath(new URL('../../dist/src/cli.js', import.meta.url));
const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
afterEach(async () => control().setSwitches({ idpDown: false }));

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
});

const idpFlags = () => [
  '--issuer',
  sandbox().description.issuer,
  '--client-id',
  sandbox().description.clients.native,
  '--token-store',
  'file',
];
/** A fix-it command as the CLI must repeat it: this node, this script, the flags it was given. */
const invoked = (command: string, ...flags: string[]) =>
  [process.execPath, CLI, command, ...flags, ...idpFlags()].join(' ');
const cli = (args: string[], dir: string, extraEnv: Record<string, string> = {}, options: RunOptions = {}) =>
  runNode([CLI, ...args], cliEnv(dir, extraEnv), options);

/** Runs a device login, approving the code it prints for `username`. */
function deviceLogin(dir: string, username: string, args: string[] = []) {
  let approved = false;
  return cli(
    ['login', ...args, ...idpFlags()],
    dir,
    {},
    {
      onStderr: (_chunk, all) => {
        const m = /enter the code: (\S+)/.exec(all);
        if (m && !approved) {
          approved = true;
          void control().approveDevice({ userCode: m[1]!, username });
        }
      },
    },
  );
}

describe('qindex-mcp login/whoami/logout (spawned)', () => {
  it('device login is the default without a display; whoami shows who, never a token; logout revokes', async () => {
    const dir = await tempDir();
    const login = await deviceLogin(dir, 'alice', ['--profile', 'work']);
    expect(login.code).toBe(0);
    expect(login.stderr).toMatch(/To sign in, open http:\/\/127\.0\.0\.1:\d+\/device/);
    expect(login.stderr).toMatch(/Or open http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+ or scan:/);
    expect(login.stderr).toContain('▄'); // the QR code
    expect(login.stderr).toMatch(/the code expires in \d+ min; Ctrl-C to stop/);
    expect(login.stderr).toContain(`Signed in: alice@example.com (subject ${subjectOf('alice')})`);
    expect(login.stdout).toBe('');
    const file = join(dir, 'logins', 'work.json');
    const { refreshToken } = JSON.parse(await readFile(file, 'utf8'));

    const json = await cli(['whoami', '--json', '--profile', 'work', ...idpFlags()], dir);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      signedIn: true,
      profile: 'work',
      subject: subjectOf('alice'),
      email: 'alice@example.com',
      issuer: sandbox().description.issuer,
      store: 'file',
      location: file,
    });
    const plain = await cli(['whoami', '--profile', 'work', ...idpFlags()], dir);
    expect(plain.code).toBe(0);
    // The answer is output, so `whoami | grep` works.
    expect(plain.stdout).toContain(
      `alice@example.com (subject ${subjectOf('alice')}) at ${sandbox().description.issuer}`,
    );
    expect(plain.stdout).toContain(file);

    const logout = await cli(['logout', '--profile', 'work', ...idpFlags()], dir);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain('revoked at the IdP');
    expect(existsSync(file)).toBe(false);
    const revoked = await refreshGrant(
      createOidc(signInConfig(sandbox().description).idp),
      refreshToken,
      'work',
    ).catch((e: { code: string }) => e.code);
    expect(revoked).toBe('login_expired');
    const gone = await cli(['whoami', '--profile', 'work', ...idpFlags()], dir);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toContain(
      `Not signed in (profile "work"). Run \`${invoked('login', '--profile', 'work')}\`.`,
    );

    for (const out of [login, json, plain, logout, gone])
      expect(leaked(out.stdout + out.stderr, [refreshToken])).toBeUndefined();
  });

  it.skipIf(!existsSync(CHROMIUM))(
    'browser login with --no-open, finished in headless Chromium',
    async () => {
      const dir = await tempDir();
      const browser: Browser = await launchChromium();
      try {
        let started = false;
        let page: Promise<string> = Promise.resolve('');
        const login = await cli(
          ['login', '--no-open', ...idpFlags()],
          dir,
          {},
          {
            onStderr: (_chunk, all) => {
              const m = /Open this URL in a browser to sign in:\s+(\S+)/.exec(all);
              if (m && !started) {
                started = true;
                page = signInWithBrowser(browser, m[1]!, 'dave', 'dave-pw').then((p) => p.content());
              }
            },
          },
        );
        expect(login.code).toBe(0);
        expect(login.stderr).toContain('Signed in: dave@example.com');
        expect(await page).toContain('qindex-mcp is signed in as dave@example.com');
        const { refreshToken } = JSON.parse(await readFile(join(dir, 'logins', 'default.json'), 'utf8'));
        expect(leaked(login.stdout + login.stderr, [refreshToken])).toBeUndefined();
      } finally {
        await browser.close();
      }
    },
  );

  it('logout still removes the login when the IdP is down, and says it could not revoke', async () => {
    const dir = await tempDir();
    const d = sandbox().description;
    const refreshToken = await control().mintRefreshToken({ username: 'bob' });
    await fileStore(join(dir, 'logins')).write('default', {
      refreshToken,
      issuer: d.issuer,
      clientId: d.clients.native,
      subject: subjectOf('bob'),
      updatedAt: new Date().toISOString(),
    });
    await control().setSwitches({ idpDown: true });
    const logout = await cli(['logout', ...idpFlags()], dir);
    expect(logout.code).toBe(0);
    expect(logout.stderr).toContain('could not be revoked at the IdP');
    expect(logout.stderr).toContain(`${d.issuer}/.well-known/openid-configuration`);
    expect(existsSync(join(dir, 'logins', 'default.json'))).toBe(false);
    expect(leaked(logout.stdout + logout.stderr, [refreshToken])).toBeUndefined();
  });

  it('a revoked QINDEX_REFRESH_TOKEN gives the sign-in-again message, without printing the token', async () => {
    const dir = await tempDir();
    const refreshToken = await control().mintRefreshToken({ username: 'erin' });
    const ok = await cli(['whoami', '--json', ...idpFlags()], dir, { QINDEX_REFRESH_TOKEN: refreshToken });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      subject: subjectOf('erin'),
      store: 'env',
      location: 'QINDEX_REFRESH_TOKEN',
    });
    await control().revokeUser('erin');
    const dead = await cli(['whoami', ...idpFlags()], dir, { QINDEX_REFRESH_TOKEN: refreshToken });
    expect(dead.code).toBe(1);
    expect(dead.stderr).toContain('The refresh token in QINDEX_REFRESH_TOKEN has expired or was revoked');
    expect(dead.stderr).toContain(`unset it and sign in with \`${invoked('login')}\`.`);
    for (const out of [ok, dead]) expect(leaked(out.stdout + out.stderr, [refreshToken])).toBeUndefined();
  });

  it('stops on Ctrl-C during a device login and stores nothing', async () => {
    const dir = await tempDir();
    let sent = false;
    const run = cli(
      ['login', '--device', ...idpFlags()],
      dir,
      {},
      {
        onStderr: (_c, all) => {
          if (!sent && /enter the code:/.test(all)) {
            sent = true;
            run.kill('SIGINT');
          }
        },
      },
    );
    const out = await run;
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('The device sign-in was cancelled.');
    expect(existsSync(join(dir, 'logins', 'default.json'))).toBe(false);
  });

  it('says how long a device login really waits: --timeout 5 is 5 s, not the code lifetime', async () => {
    const dir = await tempDir();
    let sent = false;
    const run = cli(
      ['login', '--device', '--timeout', '5', ...idpFlags()],
      dir,
      {},
      {
        onStderr: (_c, all) => {
          if (!sent && /Ctrl-C to stop\)/.test(all)) {
            sent = true;
            run.kill('SIGINT');
          }
        },
      },
    );
    const out = await run;
    expect(out.stderr).toContain('Waiting for approval (--timeout ends the wait in 5 s; Ctrl-C to stop)');
    expect(out.stderr).not.toMatch(/expires in \d+ min/);
  });

  it('names the URL it could not reach', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const out = await cli(
      [
        'login',
        '--device',
        '--issuer',
        `http://127.0.0.1:${port}`,
        '--client-id',
        'qindex-mcp',
        '--token-store',
        'file',
      ],
      await tempDir(),
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      `Cannot reach the identity provider at http://127.0.0.1:${port}/.well-known/openid-configuration (ECONNREFUSED)`,
    );
  });

  it('exits 2 on usage errors and 0 on --help', async () => {
    const dir = await tempDir();
    const usage = [
      ['login', '--device', '--browser'],
      ['login', '--bogus'],
      ['login', '--timeout', 'soon'],
      ['whoami', 'extra'],
      ['logout', '--json'],
    ];
    const help = ['login', 'logout', 'whoami'];
    const [bad, good] = await Promise.all([
      Promise.all(usage.map((args) => cli([...args, ...idpFlags()], dir))),
      Promise.all(help.map((command) => cli([command, '--help'], dir))),
    ]);
    bad.forEach((out, i) => {
      expect(out.code, usage[i]!.join(' ')).toBe(2);
      expect(out.stderr).toContain('Usage: qindex-mcp');
    });
    good.forEach((out, i) => {
      expect(out.code).toBe(0);
      expect(out.stdout).toContain(`Usage: qindex-mcp ${help[i]}`);
      expect(out.stderr).toBe('');
    });
  });

  it('--version prints the package version and --help the commands, on stdout, run straight from node', async () => {
    const dir = await tempDir();
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    // cliEnv carries no npm_package_version: this is the CLI as an MCP client or a shell runs it.
    const version = await cli(['--version'], dir);
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await cli(['--help'], dir);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: qindex-mcp <command>');
    expect(help.stdout).toContain('whoami');
    // The AWS SDK's eight-line Node-version notice never prints; on Node < 22 one line says it.
    const who = await cli(['whoami', '--offline', ...idpFlags()], dir);
    expect(who.stderr).not.toContain('To continue receiving updates');
    expect(who.stderr.split('\n').filter((l) => l.includes('Node 22')).length).toBeLessThanOrEqual(1);
    const none = await cli([], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: qindex-mcp <command>');
  });

  it('whoami checks the stored sign-in with the IdP: a revoked one is "Signed out", exit 1; --offline does not ask', async () => {
    const dir = await tempDir();
    const login = await deviceLogin(dir, 'dave');
    expect(login.code).toBe(0);
    const ok = await cli(['whoami', ...idpFlags()], dir);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('Signed in: dave@example.com');
    await control().revokeUser('dave');
    const dead = await cli(['whoami', ...idpFlags()], dir);
    expect(dead.code).toBe(1);
    expect(dead.stdout).toContain('Signed out (profile "default")');
    expect(dead.stdout).toContain(invoked('login'));
    const json = await cli(['whoami', '--json', ...idpFlags()], dir);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ signedIn: false, status: 'login_expired' });
    const offline = await cli(['whoami', '--offline', '--json', ...idpFlags()], dir);
    expect(offline.code).toBe(0);
    expect(JSON.parse(offline.stdout)).toMatchObject({ signedIn: true, verified: false });
  });
});
