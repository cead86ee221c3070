/**
 * @module Optional shared credential cache on Redis, so horizontally scaled replicas make ONE identity
 * exchange per user: the first replica takes a short lock (SET NX PX), exchanges, and stores the
 * credentials AES-256-GCM encrypted (key from configuration, the Redis key as associated data) with a
 * TTL equal to their expiry; the others wait for the entry instead of replaying the user's assertion.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Logger } from '../../log.js';
import { QindexError } from '../../errors.js';

export type Credentials = AwsCredentialIdentity;
export interface CredentialProvider {
  (options?: { forceRefresh?: boolean }): Promise<Credentials>;
  /** Drops `stale` if still cached, so the next call renews (the Q client calls it on ExpiredToken). */
  invalidate?(stale?: { accessKeyId: string }): void;
  /** Whom the current credentials were exchanged for (the assertion's email); undefined before any. */
  identity?(): { email?: string | undefined } | undefined;
}

/** Credentials and the email of the assertion they were exchanged with, stored together. */
interface Stored {
  credentials: Credentials;
  email: string | undefined;
}

export interface SharedCredentialCache {
  /** Wraps one user's exchange; `userKey` identifies the user (issuer, subject, tenant). */
  wrap(userKey: string, exchange: CredentialProvider): CredentialProvider;
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
    throw new QindexError('config_invalid', 'The shared cache needs a 32-byte key, base64 encoded.', {
      remedy: 'Set http.cacheKey or QINDEX_CACHE_KEY to the output of `openssl rand -base64 32`.',
    });
  }
  return key;
}

/** This replica's own exchange, with whom it was for (the other replicas read that from the entry). */
async function ownExchange(
  exchange: CredentialProvider,
  opts: { forceRefresh?: boolean } | undefined,
): Promise<Stored> {
  const credentials = await exchange(opts);
  return { credentials, email: exchange.identity?.()?.email };
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
  const margin = options.marginSeconds * 1000;
  const defaultTtl = options.defaultTtlMs ?? 15 * 60_000;
  const fresh = (c: Credentials | undefined) =>
    !!c && (c.expiration?.getTime() ?? Infinity) - margin > Date.now();

  const redisKey = (userKey: string) =>
    `qindex:creds:${createHmac('sha256', options.key).update(userKey).digest('base64url')}`;

  const encrypt = (key: string, { credentials: c, email }: Stored) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', options.key, iv);
    cipher.setAAD(Buffer.from(key));
    const plain = JSON.stringify({
      accessKeyId: c.accessKeyId,
      secretAccessKey: c.secretAccessKey,
      sessionToken: c.sessionToken,
      expiration: c.expiration?.toISOString(),
      email,
    });
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  };
  const decrypt = (key: string, blob: string): Stored | undefined => {
    try {
      const raw = Buffer.from(blob, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', options.key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(raw.subarray(12, 28));
      const plain = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      const { email, expiration, ...o } = JSON.parse(plain) as {
        expiration?: string;
        email?: string;
      } & Credentials;
      return { credentials: { ...o, expiration: expiration ? new Date(expiration) : undefined }, email };
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
    exchange: CredentialProvider,
    force: boolean,
    refusedKeyId: string | undefined,
  ): Promise<Stored> {
    // Credentials Q already refused as expired are not fresh, whatever their expiry says.
    const usable = (s: Stored | undefined) =>
      fresh(s?.credentials) && s!.credentials.accessKeyId !== refusedKeyId;
    const key = redisKey(userKey);
    const lockKey = `${key}:lock`;
    const deadline = Date.now() + lockMs * 2;
    while (Date.now() < deadline) {
      if (!force) {
        const cached = await read(key);
        if (usable(cached)) return cached!;
      }
      const holder = randomBytes(16).toString('hex');
      if ((await redis.set(lockKey, holder, 'PX', lockMs, 'NX')) === 'OK') {
        try {
          // Another replica may have stored fresh credentials between our read and the lock.
          const cached = force ? undefined : await read(key);
          if (usable(cached)) return cached!;
          const stored = await ownExchange(exchange, force ? { forceRefresh: true } : undefined).catch(
            (e: unknown) => {
              throw new ExchangeFailed(e);
            },
          );
          const ttl = (stored.credentials.expiration?.getTime() ?? Date.now() + defaultTtl) - Date.now();
          if (ttl > 0) await redis.set(key, encrypt(key, stored), 'PX', Math.floor(ttl));
          return stored;
        } finally {
          await redis.eval(RELEASE, 1, lockKey, holder).catch(() => undefined);
        }
      }
      force = false; // someone else is exchanging: their result is as fresh as ours would be
      await sleep(50 + Math.random() * 50);
    }
    throw new QindexError(
      'credentials_timeout',
      'Timed out waiting for another replica to exchange credentials.',
      {
        retryable: true,
        remedy: 'Retry the request.',
      },
    );
  }

  return {
    wrap(userKey, exchange) {
      let memo: Stored | undefined;
      let refusedKeyId: string | undefined;
      let inFlight: Promise<Credentials> | undefined;
      const provider = async (opts?: { forceRefresh?: boolean }) => {
        const force = opts?.forceRefresh === true;
        if (!force && fresh(memo?.credentials)) return memo!.credentials;
        inFlight ??= sharedExchange(userKey, exchange, force, refusedKeyId)
          .catch((e: unknown) => {
            if (e instanceof ExchangeFailed) throw e.error;
            if (e instanceof QindexError) throw e;
            // Redis unreachable: serve from this replica's own exchange rather than fail the user.
            options.logger.warn({ err: (e as Error).message }, 'shared credential cache unavailable');
            return ownExchange(exchange, opts);
          })
          .then((s) => (memo = s).credentials)
          .finally(() => (inFlight = undefined));
        return inFlight;
      };
      // `memoized` tells the AWS SDK this is its only cache, so `invalidate` reaches every caller.
      return Object.assign(provider, {
        memoized: true as const,
        identity: () => (memo ? { email: memo.email } : undefined),
        invalidate(stale?: { accessKeyId: string }) {
          if (stale && memo && memo.credentials.accessKeyId !== stale.accessKeyId) return;
          memo = undefined;
          refusedKeyId = stale?.accessKeyId;
        },
      });
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
