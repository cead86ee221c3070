/**
 * @module Picks the token store for `--token-store keychain|file|memory|auto`: auto takes the OS keychain
 * when a persistent one is reachable and otherwise falls back to the file store, saying so once.
 */
import { ErrorCode, QindexError } from '../../errors.js';
import type { TokenStore } from '../types.js';
import { fileStore } from './file.js';
import { keychainAvailable, keychainStore } from './keychain.js';
import { memoryStore } from './memory.js';
import { loginsDir, type Env } from './paths.js';

export type StoreChoice = 'auto' | 'keychain' | 'file' | 'memory';

let fallbackSaid = false;

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
      if (!fallbackSaid) {
        fallbackSaid = true;
        deps.notify?.(
          `No persistent OS keychain found: falling back to file store at ${loginsDir(env)} (files are mode 0600).`,
        );
      }
      return store;
    }
  }
}

export { fileStore, keychainStore, memoryStore };
