/**
 * @module Per-user state of the bearer mode: each user (issuer + subject, and tenant) gets their own
 * credential provider and tool context, cached so one exchange serves many calls; bounded (LRU) and
 * evicted when idle, so a deployment's memory does not grow with every user it has ever seen.
 */
import { LRUCache } from 'lru-cache';
import { subjectHash } from '../../telemetry/audit.js';
import { metrics } from '../../telemetry/metrics.js';
import type { VerifiedToken } from './bearer.js';

export interface UserIdentity {
  issuer: string;
  subject: string;
  email: string | undefined;
  tenant: string | undefined;
}

export interface UserEntry<C> {
  key: string;
  identity: UserIdentity;
  context: C;
  /** The newest bearer token this user presented: the assertion for their next exchange. */
  latestToken(): string;
  /** Records a token the user presented; a later-expiring one replaces the current. */
  offer(token: VerifiedToken): void;
}

export interface UserCache<C> {
  get(token: VerifiedToken, tenant: string | undefined): UserEntry<C>;
  /** The cached entry for `key`, without touching its age. */
  peek(key: string): UserEntry<C> | undefined;
  readonly size: number;
  clear(): void;
}

/**
 * Stable, non-reversible cache key; ids never appear as map keys in heap dumps or logs. The audit
 * names users by the same hash.
 */
export const userKey = subjectHash;

export function createUserCache<C>(options: {
  max: number;
  idleMs: number;
  /** Builds the user's context; `latestToken` reads the entry's current token at exchange time. */
  build: (identity: UserIdentity, key: string, latestToken: () => string) => C;
  onEvict?: (entry: UserEntry<C>) => void;
}): UserCache<C> {
  const cache = new LRUCache<string, UserEntry<C>>({
    max: options.max,
    ttl: options.idleMs,
    updateAgeOnGet: true,
    dispose: (entry, _key, reason) => {
      // Pushed out (LRU) or idle: not a replaced entry or the server's own clear on close.
      if (reason === 'evict' || reason === 'expire') metrics.credentialCache('eviction');
      options.onEvict?.(entry);
    },
  });
  const purge = setInterval(() => cache.purgeStale(), Math.min(options.idleMs, 60_000));
  purge.unref();

  const create = (token: VerifiedToken, tenant: string | undefined): UserEntry<C> => {
    const identity = { issuer: token.issuer, subject: token.subject, email: token.email, tenant };
    const key = userKey(token.issuer, token.subject, tenant);
    let current = token;
    const latestToken = () => current.token;
    return {
      key,
      identity,
      context: options.build(identity, key, latestToken),
      latestToken,
      offer(next) {
        // The identity stays as first seen: who the credentials act for is the exchange's to say.
        if (next.token !== current.token && next.expiresAt >= current.expiresAt) current = next;
      },
    };
  };

  return {
    get(token, tenant) {
      const key = userKey(token.issuer, token.subject, tenant);
      let entry = cache.get(key);
      if (entry) entry.offer(token);
      else cache.set(key, (entry = create(token, tenant)));
      return entry;
    },
    peek: (key) => cache.peek(key),
    get size() {
      return cache.size;
    },
    clear() {
      clearInterval(purge);
      cache.clear();
    },
  };
}
