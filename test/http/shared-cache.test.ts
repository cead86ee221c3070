/**
 * The Redis shared credential cache against a real redis-server: two "replicas" wrapping the same user
 * make one exchange between them; entries are encrypted (no secret readable in Redis) and bound to their
 * key; a wrong key reads as a miss; expiry follows the credentials; short sessions are kept (the
 * memoizer's margin cap) and credentials Q refused are renewed past the exchange's own cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { memoizeCredentials, type CredentialSource } from '../../src/identity/index.js';
import { createLogger } from '../../src/log.js';
import {
  createSharedCredentialCache,
  parseCacheKey,
  type Credentials,
} from '../../src/server/http/shared-cache.js';
import { startRedis, type RedisServer } from './redis.js';

const logger = createLogger({ level: 'silent' });
let redis: RedisServer;
let raw: Redis;
beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  raw.disconnect();
  await redis.stop();
});

const SECRET = 'canary-secret-key-' + randomBytes(8).toString('hex');
function countingExchange(delayMs = 100, lifetimeMs = 3_600_000) {
  const calls = { n: 0 };
  const exchange: CredentialSource = async () => {
    calls.n++;
    await new Promise((r) => setTimeout(r, delayMs));
    return {
      accessKeyId: `ASIA${calls.n}`,
      secretAccessKey: SECRET,
      sessionToken: 'canary-session-token',
      expiration: new Date(Date.now() + lifetimeMs),
    } satisfies Credentials;
  };
  return { exchange, calls };
}

describe('shared credential cache', () => {
  it('makes one exchange per user across replicas and stores it encrypted', async () => {
    const key = randomBytes(32);
    const a = createSharedCredentialCache({ url: redis.url, key, logger, marginSeconds: 300 });
    const b = createSharedCredentialCache({ url: redis.url, key, logger, marginSeconds: 300 });
    const ea = countingExchange();
    const eb = countingExchange();
    const pa = a.wrap('user-1', ea.exchange);
    const pb = b.wrap('user-1', eb.exchange);
    const results = await Promise.all([pa(), pb(), pa(), pb()]);
    expect(ea.calls.n + eb.calls.n).toBe(1);
    expect(new Set(results.map((c) => c.accessKeyId)).size).toBe(1);
    expect(results[0]!.expiration).toBeInstanceOf(Date);

    const keys = await raw.keys('qindex:creds:*');
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) {
      const value = (await raw.get(k)) ?? '';
      expect(value).not.toContain(SECRET);
      expect(value).not.toContain('canary-session-token');
      expect(k).not.toContain('user-1');
      expect(await raw.pttl(k)).toBeGreaterThan(3_000_000);
    }
    // Another user is exchanged separately.
    const ec = countingExchange();
    await b.wrap('user-2', ec.exchange)();
    expect(ec.calls.n).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('treats an entry under another key as a miss and expires entries with the credentials', async () => {
    const a = createSharedCredentialCache({ url: redis.url, key: randomBytes(32), logger, marginSeconds: 0 });
    const b = createSharedCredentialCache({ url: redis.url, key: randomBytes(32), logger, marginSeconds: 0 });
    const ea = countingExchange(10, 2_000);
    const eb = countingExchange(10, 2_000);
    await a.wrap('user-3', ea.exchange)();
    await b.wrap('user-3', eb.exchange)();
    expect([ea.calls.n, eb.calls.n]).toEqual([1, 1]);
    const ttls = await Promise.all((await raw.keys('qindex:creds:*')).map((k) => raw.pttl(k)));
    expect(ttls.some((t) => t > 0 && t <= 2_000)).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('does not cache a failed exchange and falls back to the replica when Redis is gone', async () => {
    const key = randomBytes(32);
    const a = createSharedCredentialCache({ url: redis.url, key, logger, marginSeconds: 300 });
    let fail = true;
    const provider = a.wrap('user-4', async () => {
      if (fail) throw new Error('refused');
      return { accessKeyId: 'ASIAOK', secretAccessKey: 's', expiration: new Date(Date.now() + 3_600_000) };
    });
    await expect(provider()).rejects.toThrow('refused');
    fail = false;
    expect((await provider()).accessKeyId).toBe('ASIAOK');
    await a.close();

    const gone = createSharedCredentialCache({ url: 'redis://127.0.0.1:1', key, logger, marginSeconds: 300 });
    const e = countingExchange(1);
    expect((await gone.wrap('user-5', e.exchange)()).secretAccessKey).toBe(SECRET);
    expect(e.calls.n).toBe(1);
    await gone.close();
  });

  it('keeps credentials shorter-lived than twice the margin, on this replica and for the next', async () => {
    // 10-minute sessions with a 30-minute margin: renewing "30 minutes before expiry" would mean on every call.
    const key = randomBytes(32);
    const a = createSharedCredentialCache({ url: redis.url, key, logger, marginSeconds: 1800 });
    const b = createSharedCredentialCache({ url: redis.url, key, logger, marginSeconds: 1800 });
    const ea = countingExchange(1, 600_000);
    const eb = countingExchange(1, 600_000);
    const pa = a.wrap('user-6', ea.exchange);
    const first = await pa();
    expect((await pa()).accessKeyId).toBe(first.accessKeyId);
    expect((await b.wrap('user-6', eb.exchange)()).accessKeyId).toBe(first.accessKeyId);
    expect([ea.calls.n, eb.calls.n]).toEqual([1, 0]);
    await Promise.all([a.close(), b.close()]);
  });

  it('renews credentials Q refused even when the exchange behind it still caches them', async () => {
    const a = createSharedCredentialCache({
      url: redis.url,
      key: randomBytes(32),
      logger,
      marginSeconds: 300,
    });
    const e = countingExchange(1);
    // As in bearer mode: the user's exchange is src/identity's memoized provider.
    const inner = memoizeCredentials(() => e.exchange(), { refreshMarginSeconds: 300 });
    const provider = a.wrap('user-7', inner);
    const refused = await provider();
    provider.invalidate(refused);
    const renewed = await provider();
    expect(renewed.accessKeyId).not.toBe(refused.accessKeyId);
    expect(e.calls.n).toBe(2);
    await a.close();
  });

  it('requires a 32-byte base64 key', () => {
    expect(() => parseCacheKey(undefined)).toThrow(/32-byte/);
    expect(() => parseCacheKey(Buffer.alloc(16).toString('base64'))).toThrow(/32-byte/);
    expect(parseCacheKey(randomBytes(32).toString('base64'))).toHaveLength(32);
  });
});
