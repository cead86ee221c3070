/**
 * @module The connector's server-side state as a small key-value store, sealed at rest: every value is
 * AES-256-GCM encrypted (shared-cache.ts's seal, the storage key as associated data) and every key name is
 * an HMAC, so neither token ids nor tokens appear in Redis or on disk. Redis when http.redisUrl is set
 * (replicas share clients, grants, keys and locks), else memory written through to a 0600 file.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ErrorCode, QindexError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { seal, unseal } from '../http/shared-cache.js';

export interface Kv {
  get(name: string): Promise<string | undefined>;
  /** `ttlSeconds` absent or 0: no expiry. */
  set(name: string, value: string, ttlSeconds?: number): Promise<void>;
  del(name: string): Promise<void>;
  /** Adds `member` (a name) to the set `name`; the set lives at least `ttlSeconds`. */
  addMember(name: string, member: string, ttlSeconds?: number): Promise<void>;
  /** Deletes every name in the set and the set. */
  delMembers(name: string): Promise<void>;
  /** Runs `fn` holding the lock `name` (across replicas with Redis); waits up to `waitMs` for it. */
  withLock<T>(name: string, fn: () => Promise<T>, waitMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** Storage keys are HMACs of the names, values are sealed with the key under that storage key. */
function sealing(key: Buffer, prefix: string) {
  const id = (name: string) => `${prefix}${createHmac('sha256', key).update(name).digest('base64url')}`;
  return {
    id,
    seal: (sid: string, value: string) => seal(key, sid, value),
    open: (sid: string, blob: string): string | undefined => {
      try {
        return unseal(key, sid, blob);
      } catch {
        return undefined; // a wrong key or a tampered value reads as absent
      }
    },
  };
}

const busy = (name: string) =>
  new QindexError(ErrorCode.CredentialsTimeout, `Timed out waiting for the lock on ${name.split(':')[0]}.`, {
    retryable: true,
    remedy: 'Retry the request.',
  });

/** Memory, optionally written through to `file` (sealed values only, mode 0600, atomic rename). */
export function createMemoryKv(key: Buffer, options: { file?: string } = {}): Kv {
  const s = sealing(key, '');
  type Entry = { v: string; exp?: number };
  const values = new Map<string, Entry>();
  const sets = new Map<string, { members: Set<string>; exp?: number }>();
  const locks = new Map<string, Promise<unknown>>();
  if (options.file) {
    try {
      const saved = JSON.parse(readFileSync(options.file, 'utf8')) as {
        values: Array<[string, Entry]>;
        sets: Array<[string, { members: string[]; exp?: number }]>;
      };
      for (const [k, e] of saved.values) values.set(k, e);
      for (const [k, e] of saved.sets)
        sets.set(k, { members: new Set(e.members), ...(e.exp ? { exp: e.exp } : {}) });
    } catch {
      // no file yet (or unreadable): start empty
    }
  }
  const live = (exp: number | undefined) => exp === undefined || exp > Date.now();
  const expiry = (ttl?: number) => (ttl ? Date.now() + ttl * 1000 : undefined);
  const persist = () => {
    if (!options.file) return;
    for (const [k, e] of values) if (!live(e.exp)) values.delete(k);
    for (const [k, e] of sets) if (!live(e.exp)) sets.delete(k);
    const text = JSON.stringify({
      values: [...values],
      sets: [...sets].map(([k, e]) => [k, { members: [...e.members], exp: e.exp }]),
    });
    mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
    const tmp = `${options.file}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, options.file);
  };
  const delId = (sid: string) => values.delete(sid);

  return {
    async get(name) {
      const sid = s.id(name);
      const e = values.get(sid);
      if (!e || !live(e.exp)) return undefined;
      return s.open(sid, e.v);
    },
    async set(name, value, ttl) {
      const sid = s.id(name);
      const exp = expiry(ttl);
      values.set(sid, { v: s.seal(sid, value), ...(exp ? { exp } : {}) });
      persist();
    },
    async del(name) {
      delId(s.id(name));
      persist();
    },
    async addMember(name, member, ttl) {
      const sid = s.id(name);
      const set = sets.get(sid) ?? { members: new Set<string>() };
      set.members.add(s.id(member));
      const exp = expiry(ttl);
      if (set.exp !== undefined && (exp === undefined || exp > set.exp)) set.exp = exp;
      if (!sets.has(sid)) set.exp = exp;
      sets.set(sid, set);
      persist();
    },
    async delMembers(name) {
      const sid = s.id(name);
      for (const m of sets.get(sid)?.members ?? []) delId(m);
      sets.delete(sid);
      persist();
    },
    async withLock(name, fn) {
      const prior = locks.get(name) ?? Promise.resolve();
      const run = prior.catch(() => undefined).then(fn);
      const tail = run.catch(() => undefined);
      locks.set(name, tail);
      void tail.then(() => locks.get(name) === tail && locks.delete(name));
      return run;
    },
    async close() {},
  };
}

// Compare-and-delete: release the lock only while this replica still holds it.
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
// Deletes every member of a set and the set itself, atomically.
const DEL_MEMBERS =
  "local m = redis.call('smembers', KEYS[1]); for _, k in ipairs(m) do redis.call('del', k) end; return redis.call('del', KEYS[1])";

export function createRedisKv(url: string, key: Buffer, logger: Logger): Kv {
  const s = sealing(key, 'qindex:oauth:');
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
  redis.on('error', (e: Error) => logger.warn({ err: e.message }, 'oauth state: redis error'));
  return {
    async get(name) {
      const sid = s.id(name);
      const blob = await redis.get(sid);
      return blob ? s.open(sid, blob) : undefined;
    },
    async set(name, value, ttl) {
      const sid = s.id(name);
      if (ttl) await redis.set(sid, s.seal(sid, value), 'EX', Math.ceil(ttl));
      else await redis.set(sid, s.seal(sid, value));
    },
    async del(name) {
      await redis.del(s.id(name));
    },
    async addMember(name, member, ttl) {
      const sid = s.id(name);
      const multi = redis.multi().sadd(sid, s.id(member));
      if (ttl) multi.expire(sid, Math.ceil(ttl), 'GT').expire(sid, Math.ceil(ttl), 'NX');
      await multi.exec();
    },
    async delMembers(name) {
      await redis.eval(DEL_MEMBERS, 1, s.id(name));
    },
    async withLock(name, fn, waitMs = 15_000) {
      const lock = `${s.id(name)}:lock`;
      const holder = randomBytes(16).toString('hex');
      const deadline = Date.now() + waitMs;
      while ((await redis.set(lock, holder, 'PX', 30_000, 'NX')) !== 'OK') {
        if (Date.now() > deadline) throw busy(name);
        await sleep(25 + Math.random() * 50);
      }
      try {
        return await fn();
      } finally {
        await redis.eval(RELEASE, 1, lock, holder).catch(() => undefined);
      }
    },
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
