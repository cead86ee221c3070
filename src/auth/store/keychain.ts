/**
 * @module The OS keychain store (macOS Keychain, Windows Credential Manager, the Secret Service on Linux)
 * through @napi-rs/keyring. On Linux the entry is pinned to the Secret Service: the library would otherwise
 * fall back silently to kernel keyutils, which forgets everything at reboot.
 *
 * A keychain replaces an item atomically, but taking it is a round trip to another process: a rotated
 * refresh token is first sealed into a file (journal.ts, under a key kept in the keychain as
 * `<profile>.journal-key`), so a crash in that round trip loses nothing and the disk holds nothing readable.
 */
import type * as Keyring from '@napi-rs/keyring';
import type { AsyncEntry, EntryOptions } from '@napi-rs/keyring';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { commandLine } from '../../config/invocation.js';
import { ErrorCode, QindexError } from '../../errors.js';
import type { StoredLogin, TokenStore } from '../types.js';
import { removeCopies, seal, sealedCopies, unseal } from './journal.js';
import { isInvalid, parseStoredLogin } from './parse.js';
import type { Env } from './paths.js';

export const KEYCHAIN_SERVICE = 'qindex-mcp';
const OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

/**
 * MCP clients pass a spawned server only HOME, PATH and a few more, so DBUS_SESSION_BUS_ADDRESS is often
 * missing even though the user's session bus is there: point at the standard socket when it exists.
 */
function ensureSessionBus(env: Env): void {
  if (process.platform !== 'linux' || env.DBUS_SESSION_BUS_ADDRESS) return;
  const uid = process.getuid?.();
  const socket = `/run/user/${uid}/bus`;
  if (uid !== undefined && existsSync(socket)) process.env.DBUS_SESSION_BUS_ADDRESS = `unix:path=${socket}`;
}

/**
 * The native addon, loaded on first use (a synchronous require: `keychainAvailable` is synchronous): a
 * server whose logins live elsewhere never pays for it, and one that does pays after its handshake.
 */
let keyring: typeof Keyring | undefined;
const loadKeyring = () => (keyring ??= createRequire(import.meta.url)('@napi-rs/keyring') as typeof Keyring);

/** Opens an entry; throws when no persistent keychain is reachable (on Linux: no Secret Service). */
function entry(profile: string, env: Env): AsyncEntry {
  ensureSessionBus(env);
  return new (loadKeyring().AsyncEntry)(KEYCHAIN_SERVICE, profile, OPTIONS);
}

/** Whether a persistent keychain is reachable (a locked one counts: reads will say it is locked). */
export function keychainAvailable(env: Env = process.env): boolean {
  try {
    entry('probe', env);
    return true;
  } catch {
    return false;
  }
}

/** `journalDir`: where sealed copies go (the file store's directory); absent, none are made. */
export function keychainStore(env: Env = process.env, journalDir?: string): TokenStore {
  const where = (profile: string) => `OS keychain (service "${KEYCHAIN_SERVICE}", account "${profile}")`;
  const call = async <T>(profile: string, what: string, fn: (e: AsyncEntry) => Promise<T>): Promise<T> => {
    try {
      return await fn(entry(profile, env));
    } catch (e) {
      throw keychainError(e, what, where(profile));
    }
  };
  // Fetched under the entry's lock before a refresh (in recover), so sealing needs no keychain call.
  const secrets = new Map<string, Buffer>();
  const journalKey = async (profile: string): Promise<Buffer> => {
    const account = `${profile}.journal-key`;
    let text = await call(account, 'read', (e) => e.getPassword());
    if (!text) {
      text = randomBytes(32).toString('base64');
      await call(account, 'write', (e) => e.setPassword(text!));
    }
    const secret = Buffer.from(text, 'base64');
    secrets.set(profile, secret);
    return secret;
  };
  const store: TokenStore = {
    kind: 'keychain',
    location: where,
    async read(profile) {
      const text = await call(profile, 'read', (e) => e.getPassword());
      if (text === null || text === undefined) return undefined;
      const parsed = parseStoredLogin(text);
      if (isInvalid(parsed)) {
        throw new QindexError(
          ErrorCode.TokenStoreCorrupt,
          `The login in the ${where(profile)} is damaged (${parsed.invalid}).`,
          {
            remedy: `It was left as it is. Run \`${commandLine('logout', { profile })}\` to remove it, then log in again.`,
          },
        );
      }
      return parsed;
    },
    async write(profile, login) {
      const secret = secrets.get(profile);
      const copy = journalDir && secret ? seal(journalDir, profile, login, secret) : undefined;
      await call(profile, 'write', (e) => e.setPassword(JSON.stringify(login)));
      if (copy) await removeCopies([copy]);
    },
    async recover(profile) {
      const none = { recovered: false, removed: 0 };
      if (!journalDir) return none;
      let current: StoredLogin | undefined;
      try {
        current = await store.read(profile);
      } catch {
        return none; // a damaged entry is left as it is, like the file store's
      }
      const copies = await sealedCopies(journalDir, profile);
      if (!current && copies.length === 0) return none; // nothing to protect: no journal key yet
      const secret = secrets.get(profile) ?? (await journalKey(profile));
      if (copies.length === 0) return none;
      let newest: StoredLogin | undefined;
      let at = current ? Date.parse(current.updatedAt) : -Infinity;
      for (const path of copies) {
        const login = await unseal(path, profile, secret);
        const t = login ? Date.parse(login.updatedAt) : NaN;
        if (t > at) [newest, at] = [login, t];
      }
      if (newest) await call(profile, 'write', (e) => e.setPassword(JSON.stringify(newest)));
      await removeCopies(copies);
      return { recovered: newest !== undefined, removed: copies.length - (newest ? 1 : 0) };
    },
    async remove(profile) {
      if (journalDir) await removeCopies(await sealedCopies(journalDir, profile));
      secrets.delete(profile);
      await call(`${profile}.journal-key`, 'delete', (e) => e.deleteCredential()).catch(() => undefined);
      return call(profile, 'delete', (e) => e.deleteCredential());
    },
  };
  return store;
}

function keychainError(e: unknown, what: string, where: string): QindexError {
  if (e instanceof QindexError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  if (/lock|prompt was dismissed|dismissed/i.test(detail)) {
    return new QindexError(
      ErrorCode.KeychainLocked,
      `The OS keychain is locked, so the login could not be ${what === 'read' ? 'read' : what === 'write' ? 'saved' : 'removed'} (${where}).`,
      {
        remedy:
          'Unlock it (sign in to the desktop session or unlock the "login" keyring), or use --token-store file.',
        retryable: true,
        cause: e,
      },
    );
  }
  return new QindexError(
    ErrorCode.KeychainUnavailable,
    `The OS keychain could not ${what} the login (${where}): ${detail}`,
    {
      remedy: 'Use --token-store file to keep the login in a 0600 file instead.',
      cause: e,
    },
  );
}
