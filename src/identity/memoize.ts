/**
 * @module The credential cache every identity mode sits behind: one in-flight exchange shared by all
 * callers, never a cached failure, renewal a margin before expiry, and `forceRefresh`/`invalidate`
 * for callers that saw the credentials refused.
 */
import type { AwsCredentialIdentity } from '@smithy/types';

export interface MemoizeOptions {
  /** Renew this long before `expiration` (capped at half the credentials' lifetime). */
  refreshMarginSeconds: number;
  /** Clock in milliseconds; injectable so tests can move time without waiting. */
  now?: () => number;
}

export interface MemoizedCredentials {
  (options?: { forceRefresh?: boolean }): Promise<AwsCredentialIdentity>;
  /**
   * Tells the AWS SDK that this function is its own cache: the SDK then calls it on every request
   * instead of wrapping it in a second cache that `invalidate()` could not reach.
   */
  readonly memoized: true;
  /**
   * Drops the cached credentials so the next call exchanges again. With `stale`, only when the cache
   * still holds those credentials: fifty callers that saw the same expired session cause one exchange.
   */
  invalidate(stale?: AwsCredentialIdentity): void;
}

export function memoizeCredentials(
  fetch: () => Promise<AwsCredentialIdentity>,
  options: MemoizeOptions,
): MemoizedCredentials {
  const now = options.now ?? Date.now;
  let cached: { credentials: AwsCredentialIdentity; refreshAt: number } | undefined;
  let pending: Promise<AwsCredentialIdentity> | undefined;

  const start = (): Promise<AwsCredentialIdentity> => {
    pending ??= (async () => {
      try {
        const credentials = await fetch();
        cached = { credentials, refreshAt: refreshTime(credentials, options.refreshMarginSeconds, now()) };
        return credentials;
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };

  const provider = async (opts?: { forceRefresh?: boolean }) => {
    if (pending) return pending;
    if (cached && !opts?.forceRefresh && now() < cached.refreshAt) return cached.credentials;
    return start();
  };
  return Object.assign(provider, {
    memoized: true as const,
    invalidate(stale?: AwsCredentialIdentity) {
      if (!stale || cached?.credentials.accessKeyId === stale.accessKeyId) cached = undefined;
    },
  });
}

function refreshTime(credentials: AwsCredentialIdentity, marginSeconds: number, fetchedAt: number): number {
  if (!credentials.expiration) return Number.POSITIVE_INFINITY;
  const expiresAt = credentials.expiration.getTime();
  const margin = Math.min(marginSeconds * 1000, Math.max(0, expiresAt - fetchedAt) / 2);
  return expiresAt - margin;
}
