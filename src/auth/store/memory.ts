/**
 * @module A token store that lives as long as the process: for CI jobs with QINDEX_REFRESH_TOKEN and tests.
 */
import type { StoredLogin, TokenStore } from '../types.js';

const logins = new Map<string, StoredLogin>();

export function memoryStore(): TokenStore {
  return {
    kind: 'memory',
    location: () => 'memory (this process only)',
    read: async (profile) => {
      const login = logins.get(profile);
      return login && { ...login };
    },
    write: async (profile, login) => {
      logins.set(profile, { ...login });
    },
    remove: async (profile) => logins.delete(profile),
  };
}
