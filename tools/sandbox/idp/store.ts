/**
 * @module In-memory storage for the sandbox IdP's oidc-provider models, one store per provider.
 * oidc-provider's own MemoryAdapter shares a single 1000-entry LRU across every provider in the
 * process; this one is private to a sandbox, never evicts, runs no timers, and lets the control
 * API find and revoke a user's grants.
 */
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  /** Epoch ms after which the entry is gone; undefined: no expiry. */
  expiresAt?: number;
}

export interface IdpStore {
  adapter: AdapterFactory;
  /** Deletes every grant of `accountId` and every token issued under them; returns the grant count. */
  revokeAccount(accountId: string): number;
  /** The stored payload of a model instance (live object: changes are seen by the provider). */
  payload(model: string, id: string): AdapterPayload | undefined;
  clear(): void;
}

/**
 * `refreshReuseGraceSeconds`: how long a rotated refresh token still works (0: never, oidc-provider's own
 * rule, which revokes the grant when a spent token comes back). Okta, Auth0 and Cognito offer such a grace.
 */
export function createIdpStore(options: { refreshReuseGraceSeconds?: () => number } = {}): IdpStore {
  const entries = new Map<string, Entry>();
  const byUserCode = new Map<string, string>();
  const byUid = new Map<string, string>();
  const key = (model: string, id: string) => `${model}:${id}`;

  const live = (k: string | undefined): AdapterPayload | undefined => {
    if (k === undefined) return undefined;
    const entry = entries.get(k);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      entries.delete(k);
      return undefined;
    }
    return entry.payload;
  };

  const revokeByGrantId = (grantId: string) => {
    for (const [k, e] of entries) if (e.payload.grantId === grantId) entries.delete(k);
    entries.delete(key('Grant', grantId));
  };

  const adapter: AdapterFactory = (model: string): Adapter => ({
    async upsert(id, payload, expiresIn) {
      const k = key(model, id);
      entries.set(k, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined });
      if (payload.userCode) byUserCode.set(payload.userCode, k);
      if (payload.uid) byUid.set(payload.uid, k);
    },
    async find(id) {
      const p = live(key(model, id));
      const grace = model === 'RefreshToken' ? (options.refreshReuseGraceSeconds?.() ?? 0) : 0;
      // Within the grace a spent token is handed to oidc-provider as unspent: it rotates once more.
      if (p?.consumed && grace > 0 && Date.now() / 1000 - Number(p.consumed) <= grace) {
        return { ...p, consumed: undefined };
      }
      return p;
    },
    async findByUserCode(userCode) {
      return live(byUserCode.get(userCode));
    },
    async findByUid(uid) {
      return live(byUid.get(uid));
    },
    async consume(id) {
      const p = live(key(model, id));
      if (p) p.consumed ??= Math.floor(Date.now() / 1000); // the grace runs from the first use
    },
    async destroy(id) {
      entries.delete(key(model, id));
    },
    async revokeByGrantId(grantId) {
      revokeByGrantId(grantId);
    },
  });

  return {
    adapter,
    revokeAccount(accountId) {
      const grants = [...entries.entries()]
        .filter(([k, e]) => k.startsWith('Grant:') && e.payload.accountId === accountId)
        .map(([, e]) => e.payload.jti as string);
      grants.forEach(revokeByGrantId);
      // Tokens whose grant was already gone still name the account: drop them too.
      for (const [k, e] of entries) {
        if (!k.startsWith('Session:') && e.payload.accountId === accountId) entries.delete(k);
      }
      return grants.length;
    },
    payload: (model, id) => live(key(model, id)),
    clear() {
      entries.clear();
      byUserCode.clear();
      byUid.clear();
    },
  };
}
