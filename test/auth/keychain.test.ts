/**
 * The keychain path for real: a child process in its own D-Bus session with gnome-keyring's Secret Service
 * stores, refreshes (rotation written back to the keychain), reads and deletes a login. A locked keychain
 * gives a clear keychain_locked error.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { leaked, run, tempDir } from './helpers.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const available = has('dbus-run-session') && has('gnome-keyring-daemon');
const child = fileURLToPath(new URL('./fixtures/keychain-child.ts', import.meta.url));
const journalChild = fileURLToPath(new URL('./fixtures/keychain-journal-child.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

if (!available)
  console.warn('keychain test skipped: dbus-run-session or gnome-keyring-daemon is not installed');

describe.skipIf(!available)('OS keychain (Secret Service via gnome-keyring)', () => {
  const sandbox = useSandbox();

  async function inSession(unlock: boolean, env: Record<string, string>, home?: string, fixture = child) {
    home ??= await tempDir('qindex-keyring-');
    const node = `${JSON.stringify(process.execPath)} --import ${JSON.stringify(tsx)} ${JSON.stringify(fixture)}`;
    const script = unlock
      ? `echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null; ${node}`
      : node;
    return run('dbus-run-session', ['--', 'sh', '-c', script], {
      PATH: process.env.PATH!,
      HOME: home,
      XDG_DATA_HOME: `${home}/.local/share`,
      QINDEX_CONFIG_DIR: home,
      ...env,
    });
  }

  it('stores, refreshes with rotation, reads and deletes a login in an unlocked keychain', async () => {
    const d = sandbox().description;
    const rt = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
    const out = await inSession(true, { CANARY_RT: rt, ISSUER: d.issuer, CLIENT_ID: d.clients.native });
    const facts = JSON.parse(out.stdout.trim().split('\n').pop()!);
    expect(facts.error).toBeUndefined();
    expect(facts).toMatchObject({
      autoKind: 'keychain',
      notices: 0,
      readBack: true,
      idTokenParts: 3,
      rotatedInKeychain: true,
      current: { subject: 'alice', store: 'keychain', email: 'alice@example.com' },
      logout: { removed: true, revoked: true },
      afterLogout: true,
    });
    expect(facts.location).toContain('OS keychain');
    expect(leaked(out.stdout + out.stderr, [rt])).toBeUndefined();
  });

  it('recovers the rotated token a killed refresh left sealed beside the keychain (unreadable on disk)', async () => {
    const d = sandbox().description;
    const rt = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
    const env = { CANARY_RT: rt, ISSUER: d.issuer, CLIENT_ID: d.clients.native };
    const out = await inSession(true, env, undefined, journalChild);
    const facts = JSON.parse(out.stdout.trim().split('\n').pop()!);
    expect(facts).toEqual({ copyReadable: false, idTokenParts: 3, copiesLeft: 0, storedIsNew: true });
    expect(leaked(out.stdout + out.stderr, [rt])).toBeUndefined();
  });

  it('says the keychain is locked (and how to get past it) when it cannot be unlocked', async () => {
    const d = sandbox().description;
    // A first session creates the "login" keyring with a password and saves an item; the second starts locked.
    const home = await tempDir('qindex-keyring-');
    const first = await inSession(
      true,
      {
        ONLY_WRITE: '1',
        CANARY_RT: 'rt-canary-locked-0123456789',
        ISSUER: d.issuer,
        CLIENT_ID: d.clients.native,
      },
      home,
    );
    expect(JSON.parse(first.stdout.trim().split('\n').pop()!)).toMatchObject({
      readBack: true,
      error: { code: 'only_write' },
    });
    const out = await inSession(
      false,
      { CANARY_RT: 'rt-canary-locked-0123456789', ISSUER: d.issuer, CLIENT_ID: d.clients.native },
      home,
    );
    const facts = JSON.parse(out.stdout.trim().split('\n').pop()!);
    expect(facts.autoKind).toBe('keychain');
    expect(facts.error.code).toBe('keychain_locked');
    expect(facts.error.message).toMatch(/keychain is locked/);
    expect(out.stdout + out.stderr).not.toContain('rt-canary-locked');
  });
});
