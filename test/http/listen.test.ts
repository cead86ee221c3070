/**
 * A server that cannot listen (its port is taken) reports why and leaves nothing behind: the state made
 * before listening (here the shared cache's Redis connection, which would keep the process alive) is
 * taken down. Asserted on redis-server's own client list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { useSandbox } from '../helpers/sandbox.js';
import { bearerConfig, startBearerServer } from './harness.js';
import { startRedis, type RedisServer } from './redis.js';

const sandbox = useSandbox();
let redis: RedisServer;
let raw: Redis;
beforeAll(async () => {
  redis = await startRedis();
  raw = new Redis(redis.url);
});
afterAll(async () => {
  raw?.disconnect();
  await redis?.stop();
});

const clients = async () =>
  String(await raw.client('LIST'))
    .trim()
    .split('\n').length;

describe('HTTP transport, a port already in use', () => {
  it('rejects with EADDRINUSE and closes what it opened', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const alone = await clients();
      const config = bearerConfig(sandbox(), 'data-accessor', {
        http: { port, redisUrl: redis.url, cacheKey: randomBytes(32).toString('base64') },
      });
      await expect(startBearerServer(sandbox(), config)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      // Without the clean-up the cache's connection stays open and this never returns (test timeout).
      while ((await clients()) > alone) await new Promise((r) => setTimeout(r, 20));
      expect(await clients()).toBe(alone);
    } finally {
      taken.close();
    }
  });
});
