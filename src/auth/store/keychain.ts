/**
 * @module The OS keychain store (macOS Keychain, Windows Credential Manager, the Secret Service on Linux)
 * through @napi-rs/keyring. On Linux the entry is pinned to the Secret Service: the library would otherwise
 * fall back silently to kernel keyutils, which forgets everything at reboot.
 */
import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';
import { existsSync } from 'node:fs';
import { QindexError } from '../../errors.js';
import type { TokenStore } from '../types.js';
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

/** Opens an entry; throws when no persistent keychain is reachable (on Linux: no Secret Service). */
function entry(profile: string, env: Env): AsyncEntry {
  ensureSessionBus(env);
  return new AsyncEntry(KEYCHAIN_SERVICE, profile, OPTIONS);
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

export function keychainStore(env: Env = process.env): TokenStore {
  const where = (profile: string) => `OS keychain (service "${KEYCHAIN_SERVICE}", account "${profile}")`;
  const call = async <T>(profile: string, what: string, fn: (e: AsyncEntry) => Promise<T>): Promise<T> => {
    try {
      return await fn(entry(profile, env));
    } catch (e) {
      throw keychainError(e, what, where(profile));
    }
  };
  return {
    kind: 'keychain',
    location: where,
    async read(profile) {
      const text = await call(profile, 'read', (e) => e.getPassword());
      if (text === null || text === undefined) return undefined;
      const parsed = parseStoredLogin(text);
      if (isInvalid(parsed)) {
        throw new QindexError(
          'token_store_corrupt',
          `The login in the ${where(profile)} is damaged (${parsed.invalid}).`,
          {
            remedy: `It was left as it is. Run \`qindex-mcp logout --profile ${profile}\` to remove it, then log in again.`,
          },
        );
      }
      return parsed;
    },
    async write(profile, login) {
      await call(profile, 'write', (e) => e.setPassword(JSON.stringify(login)));
    },
    async remove(profile) {
      return call(profile, 'delete', (e) => e.deleteCredential());
    },
  };
}

function keychainError(e: unknown, what: string, where: string): QindexError {
  if (e instanceof QindexError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  if (/lock|prompt was dismissed|dismissed/i.test(detail)) {
    return new QindexError(
      'keychain_locked',
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
    'keychain_unavailable',
    `The OS keychain could not ${what} the login (${where}): ${detail}`,
    {
      remedy: 'Use --token-store file to keep the login in a 0600 file instead.',
      cause: e,
    },
  );
}
