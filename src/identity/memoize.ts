/**
 * @module The one credential memoizer (the identity chain and the HTTP transport's Redis cache both sit
 * behind it): one in-flight fetch shared by all callers, never a cached failure, renewal a margin before
 * expiry (capped at half the lifetime, so short sessions are not renewed on every call), `forceRefresh`,
 * and `invalidate(stale)` for callers that saw the credentials refused.
 */
import type { AwsCredentialIdentity } from '@smithy/types';
import { metrics } from '../telemetry/metrics.js';
import type { MemoizedCredentials } from './provider.js';

export interface MemoizeOptions {
  /** Renew this long before `expiration` (capped at half the credentials' lifetime). */
  refreshMarginSeconds: number;
  /** Clock in milliseconds; injectable so tests can move time without waiting. */
  now?: () => number;
  /** Counts hits and misses in the credential-cache metrics (the outermost memoizer of a user only). */
  observe?: boolean;
}

/** What the memoizer tells a fetch, so that a cache beneath it (Redis) can be skipped when it must be. */
export interface FetchOptions {
  /** The caller asked for new credentials. */
  forceRefresh: boolean;
  /** The credentials last dropped by `invalidate(stale)`: refused upstream, whatever their expiry says. */
  refused?: Pick<AwsCredentialIdentity, 'accessKeyId'>;
}

/** When credentials fetched at `fetchedAt` should be renewed: the one rule, for every cache. */
export function refreshAt(
  credentials: AwsCredentialIdentity,
  marginSeconds: number,
  fetchedAt: number,
): number {
  if (!credentials.expiration) return Number.POSITIVE_INFINITY;
  const expiresAt = credentials.expiration.getTime();
  const margin = Math.min(marginSeconds * 1000, Math.max(0, expiresAt - fetchedAt) / 2);
  return expiresAt - margin;
}

export function memoizeCredentials(
  fetch: (options: FetchOptions) => Promise<AwsCredentialIdentity>,
  options: MemoizeOptions,
): MemoizedCredentials {
  const now = options.now ?? Date.now;
  let cached: { credentials: AwsCredentialIdentity; refreshAt: number } | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;
  let refused: FetchOptions['refused'];

  const start = (forceRefresh: boolean): Promise<AwsCredentialIdentity> => {
    pending ??= (async () => {
      try {
        const credentials = await fetch(refused ? { forceRefresh, refused } : { forceRefresh });
        cached = { credentials, refreshAt: refreshAt(credentials, options.refreshMarginSeconds, now()) };
        refused = undefined;
        return credentials;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const provider = async (opts?: { forceRefresh?: boolean }) => {
    if (pending) return pending;
    const force = opts?.forceRefresh === true;
    if (cached && !force && now() < cached.refreshAt) {
      if (options.observe) metrics.credentialCache('hit');
      return cached.credentials;
    }
    if (options.observe) metrics.credentialCache('miss');
    return start(force);
  };
  return Object.assign(provider, {
    memoized: true as const,
    invalidate(stale?: Pick<AwsCredentialIdentity, 'accessKeyId'>) {
      if (stale && cached && cached.credentials.accessKeyId !== stale.accessKeyId) return;
      cached = undefined;
      if (stale) refused = { accessKeyId: stale.accessKeyId };
    },
  });
}
