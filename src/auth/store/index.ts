/**
 * @module Picks the token store for `--token-store keychain|file|memory|auto`: auto takes the OS keychain
 * when a persistent one is reachable and otherwise falls back to the file store, saying so once.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode, QindexError } from '../../errors.js';
import type { TokenStore } from '../types.js';
import { fileStore } from './file.js';
import { keychainAvailable, keychainStore } from './keychain.js';
import { memoryStore } from './memory.js';
import { loginsDir, type Env } from './paths.js';

export type StoreChoice = 'auto' | 'keychain' | 'file' | 'memory';

/** Store directories whose fallback was said in this process (when the marker cannot be written). */
const fallbackSaid = new Set<string>();
const MARKER = '.file-store-notice';

/**
 * True the first time for a store directory, ever: a marker file beside the logins remembers it, so the
 * notice is not repeated on every command (it would be noise, and `| grep` users see it on stderr).
 */
function firstFallback(dir: string): boolean {
  if (fallbackSaid.has(dir)) return false;
  fallbackSaid.add(dir);
  const marker = join(dir, MARKER);
  if (existsSync(marker)) return false;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(
      marker,
      'The fallback to the file store was said once; delete this file to hear it again.\n',
      {
        mode: 0o600,
      },
    );
  } catch {
    // Unwritable: said once per process instead.
  }
  return true;
}

export function openTokenStore(
  choice: StoreChoice,
  deps: { env?: Env; notify?: (message: string) => void } = {},
): TokenStore {
  const env = deps.env ?? process.env;
  switch (choice) {
    case 'memory':
      return memoryStore();
    case 'file':
      return fileStore(loginsDir(env));
    case 'keychain':
      if (!keychainAvailable(env)) {
        throw new QindexError(
          ErrorCode.KeychainUnavailable,
          'No persistent OS keychain is reachable (on Linux: no Secret Service on the session bus).',
          {
            remedy: 'Start a desktop session with a keyring, or use --token-store file.',
          },
        );
      }
      return keychainStore(env, loginsDir(env));
    case 'auto': {
      if (keychainAvailable(env)) return keychainStore(env, loginsDir(env));
      const store = fileStore(loginsDir(env));
      if (firstFallback(loginsDir(env))) {
        deps.notify?.(
          `No persistent OS keychain found: falling back to file store at ${loginsDir(env)} (files are mode 0600).`,
        );
      }
      return store;
    }
  }
}

export { fileStore, keychainStore, memoryStore };
