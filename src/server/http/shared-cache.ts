/**
 * @module Optional shared credential cache on Redis, so horizontally scaled replicas make ONE identity
 * exchange per user: the first replica takes a short lock (SET NX PX), exchanges, and stores the
 * credentials AES-256-GCM encrypted (key from configuration, the Redis key as associated data) with a
 * TTL equal to their expiry; the others wait for the entry instead of replaying the user's assertion.
 * Each replica keeps the result behind src/identity's memoizer, renewing when the entry says.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Logger } from '../../log.js';
import { metrics } from '../../telemetry/metrics.js';
import { ErrorCode, QindexError } from '../../errors.js';
import {
  memoizeCredentials,
  refreshAt,
  type ActingIdentity,
  type CredentialProvider,
  type CredentialSource,
  type FetchOptions,
} from '../../identity/index.js';

export type Credentials = AwsCredentialIdentity;

/** One user's exchange: src/identity's provider (memoized, knows whom it acts for) or a bare source. */
export type UserExchange = CredentialSource & Partial<Pick<CredentialProvider, 'invalidate' | 'identity'>>;

/**
 * Credentials, whom they act for (IdC matched the assertion's email to its user), and when the replica
 * that exchanged them will renew them (the memoizer's rule at exchange time), stored together.
 */
interface Stored {
  credentials: Credentials;
  identity: ActingIdentity | undefined;
  refreshAt: number;
}

export interface SharedCredentialCache {
  /** Wraps one user's exchange; `userKey` identifies the user (issuer, subject, tenant). */
  wrap(userKey: string, exchange: UserExchange): CredentialProvider;
  close(): Promise<void>;
}

export interface SharedCacheOptions {
  url: string;
  /** 32 bytes. */
  key: Buffer;
  logger: Logger;
  /** Credentials this close to expiry are renewed. */
  marginSeconds: number;
  /** How long one replica may hold the exchange lock. */
  lockMs?: number;
  /** Default credential lifetime when the provider gives no expiration. */
  defaultTtlMs?: number;
}

/** Reads the 32-byte key from base64 (config `http.cacheKey` or env QINDEX_CACHE_KEY). */
export function parseCacheKey(base64: string | undefined): Buffer {
  const key = base64 ? Buffer.from(base64, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new QindexError(ErrorCode.ConfigInvalid, 'The shared cache needs a 32-byte key, base64 encoded.', {
      remedy: 'Set http.cacheKey or QINDEX_CACHE_KEY to the output of `openssl rand -base64 32`.',
    });
  }
  return key;
}

/** AES-256-GCM: iv ‖ tag ‖ ciphertext, base64; `aad` (the storage key) binds the blob to where it lives. */
export function seal(key: Buffer, aad: string, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

/** The plaintext `seal` sealed under this key and aad; throws on a wrong key, aad or a tampered blob. */
export function unseal(key: Buffer, aad: string, blob: string): string {
  const raw = Buffer.from(blob, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

/**
 * This replica's own exchange, with whom it was for (the other replicas read that from the entry).
 * Credentials refused upstream are dropped from the exchange's own cache first, or it would return them.
 */
async function ownExchange(
  exchange: UserExchange,
  opts: FetchOptions,
  marginSeconds: number,
): Promise<Stored> {
  // Whatever this replica's own exchange still holds is no newer than the refused credentials (those
  // may have come from another replica through Redis), so it is dropped too, not only when it is them.
  if (opts.refused) exchange.invalidate?.();
  const credentials = await exchange(opts.forceRefresh ? { forceRefresh: true } : undefined);
  return {
    credentials,
    identity: exchange.identity?.(),
    refreshAt: refreshAt(credentials, marginSeconds, Date.now()),
  };
}

/** Marks a failure of the exchange itself (not of Redis), so it is not retried without the cache. */
class ExchangeFailed {
  constructor(readonly error: unknown) {}
}

// Compare-and-delete: release the lock only if this replica still holds it.
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";

export function createSharedCredentialCache(options: SharedCacheOptions): SharedCredentialCache {
  const redis = new Redis(options.url, {
    lazyConnect: false,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
  });
  redis.on('error', (e: Error) =>
    options.logger.warn({ err: e.message }, 'shared credential cache: redis error'),
  );
  const lockMs = options.lockMs ?? 15_000;
  const defaultTtl = options.defaultTtlMs ?? 15 * 60_000;

  const redisKey = (userKey: string) =>
    `qindex:creds:${createHmac('sha256', options.key).update(userKey).digest('base64url')}`;

  const encrypt = (key: string, { credentials: c, identity, refreshAt: renewAt }: Stored) => {
    const plain = JSON.stringify({
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration?.toISOString(),
      identity,
      refreshAt: Number.isFinite(renewAt) ? renewAt : undefined,
    });
    return seal(options.key, key, plain);
  };
  const decrypt = (key: string, blob: string): Stored | undefined => {
    try {
      const plain = unseal(options.key, key, blob);
      const {
        identity,
        expiration,
        refreshAt: renewAt,
        ...o
      } = JSON.parse(plain) as {
        expiration?: string;
        identity?: ActingIdentity;
        refreshAt?: number;
      } & Credentials;
      const credentials = { ...o, expiration: expiration ? new Date(expiration) : undefined };
      return {
        credentials,
        identity,
        refreshAt: renewAt ?? refreshAt(credentials, options.marginSeconds, Date.now()),
      };
    } catch {
      // A wrong key or a tampered entry reads as a miss.
      return undefined;
    }
  };

  const read = async (key: string) => {
    const blob = await redis.get(key);
    return blob ? decrypt(key, blob) : undefined;
  };

  async function sharedExchange(
    userKey: string,
    exchange: UserExchange,
    opts: FetchOptions,
  ): Promise<Stored> {
    let force = opts.forceRefresh;
    // Credentials Q already refused as expired are not fresh, whatever their expiry says.
    const usable = (s: Stored | undefined) =>
      !!s && Date.now() < s.refreshAt && s.credentials.accessKeyId !== opts.refused?.accessKeyId;
    const key = redisKey(userKey);
    const lockKey = `${key}:lock`;
    const deadline = Date.now() + lockMs * 2;
    while (Date.now() < deadline) {
      if (!force) {
        const cached = await read(key);
        if (usable(cached)) {
          metrics.sharedCache('hit');
          return cached!;
        }
      }
      const holder = randomBytes(16).toString('hex');
      if ((await redis.set(lockKey, holder, 'PX', lockMs, 'NX')) === 'OK') {
        try {
          // Another replica may have stored fresh credentials between our read and the lock.
          const cached = force ? undefined : await read(key);
          if (usable(cached)) {
            metrics.sharedCache('hit');
            return cached!;
          }
          metrics.sharedCache('miss');
          const stored = await ownExchange(
            exchange,
            { ...opts, forceRefresh: force },
            options.marginSeconds,
          ).catch((e: unknown) => {
            throw new ExchangeFailed(e);
          });
          const ttl = (stored.credentials.expiration?.getTime() ?? Date.now() + defaultTtl) - Date.now();
          if (ttl > 0) await redis.set(key, encrypt(key, stored), 'PX', Math.floor(ttl));
          return stored;
        } finally {
          await redis.eval(RELEASE, 1, lockKey, holder).catch(() => undefined);
        }
      }
      force = false; // someone else is exchanging: their result is as fresh as ours would be
      metrics.sharedCache('lock_wait');
      await sleep(50 + Math.random() * 50);
    }
    throw new QindexError(
      ErrorCode.CredentialsTimeout,
      'Timed out waiting for another replica to exchange credentials.',
      {
        retryable: true,
        remedy: 'Retry the request.',
      },
    );
  }

  return {
    wrap(userKey, exchange) {
      let identity: ActingIdentity | undefined;
      const fetch = async (opts: FetchOptions) => {
        const stored = await sharedExchange(userKey, exchange, opts).catch((e: unknown) => {
          if (e instanceof ExchangeFailed) throw e.error;
          if (e instanceof QindexError) throw e;
          // Redis unreachable: serve from this replica's own exchange rather than fail the user.
          options.logger.warn({ err: (e as Error).message }, 'shared credential cache unavailable');
          metrics.sharedCache('fallback');
          return ownExchange(exchange, opts, options.marginSeconds);
        });
        identity = stored.identity;
        return stored.credentials;
      };
      const memoized = memoizeCredentials(fetch, {
        refreshMarginSeconds: options.marginSeconds,
        observe: true,
      });
      return Object.assign(memoized, { identity: () => identity });
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
