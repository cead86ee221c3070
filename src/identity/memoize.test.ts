/**
 * @module Tests of the credential memoizer: shared in-flight exchange, no cached failures, renewal a
 * margin before expiry (capped for short sessions), forceRefresh and invalidate(stale), and what the
 * fetch is told. The exchange behind it is a counting stub: the memoizer is the part under test.
 */
import { describe, expect, it } from 'vitest';
import type { AwsCredentialIdentity } from '@smithy/types';
import { memoizeCredentials, refreshAt, type FetchOptions } from './memoize.js';

function counting(lifetimeMs: number, clock: { t: number }) {
  const state = { calls: 0, fail: 0, told: [] as FetchOptions[] };
  const fetch = async (options: FetchOptions): Promise<AwsCredentialIdentity> => {
    state.calls++;
    state.told.push(options);
    const n = state.calls;
    await new Promise<void>((r) => setImmediate(r));
    if (state.fail > 0) {
      state.fail--;
      throw new Error(`exchange ${n} failed`);
    }
    return { accessKeyId: `AKID${n}`, secretAccessKey: 's', expiration: new Date(clock.t + lifetimeMs) };
  };
  return { state, fetch };
}

describe('memoizeCredentials', () => {
  it('shares one in-flight exchange among 50 concurrent callers', async () => {
    const clock = { t: 1_000_000 };
    const { state, fetch } = counting(3600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 300, now: () => clock.t });
    const all = await Promise.all(Array.from({ length: 50 }, () => p()));
    expect(state.calls).toBe(1);
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['AKID1']));
    expect(p.memoized).toBe(true);
  });

  it('renews once when inside the margin, and not before', async () => {
    const clock = { t: 1_000_000 };
    const { state, fetch } = counting(3600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 300, now: () => clock.t });
    await p();
    clock.t += 3600_000 - 301_000;
    expect((await p()).accessKeyId).toBe('AKID1');
    clock.t += 2_000;
    const renewed = await Promise.all(Array.from({ length: 20 }, () => p()));
    expect(state.calls).toBe(2);
    expect(renewed.every((c) => c.accessKeyId === 'AKID2')).toBe(true);
  });

  it('never caches a failure', async () => {
    const clock = { t: 0 };
    const { state, fetch } = counting(3600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 300, now: () => clock.t });
    state.fail = 1;
    const results = await Promise.allSettled([p(), p(), p()]);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(state.calls).toBe(1);
    expect((await p()).accessKeyId).toBe('AKID2');
  });

  it('forceRefresh exchanges again; invalidate(stale) only drops those credentials', async () => {
    const clock = { t: 0 };
    const { state, fetch } = counting(3600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 300, now: () => clock.t });
    const first = await p();
    expect((await p({ forceRefresh: true })).accessKeyId).toBe('AKID2');
    p.invalidate(first); // stale: already replaced, nothing happens
    expect((await p()).accessKeyId).toBe('AKID2');
    expect(state.calls).toBe(2);
    const current = await p();
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        p.invalidate(current);
        return p();
      }),
    );
    expect(state.calls).toBe(3);
    p.invalidate();
    expect((await p()).accessKeyId).toBe('AKID4');
  });

  it('caps the margin at half the lifetime, so short sessions are not renewed on every call', async () => {
    const clock = { t: 0 };
    const { state, fetch } = counting(600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 1800, now: () => clock.t });
    await p();
    clock.t += 299_000;
    await p();
    expect(state.calls).toBe(1);
    clock.t += 2_000;
    await p();
    expect(state.calls).toBe(2);
  });

  it('tells the fetch about forceRefresh and about credentials refused through invalidate(stale)', async () => {
    const clock = { t: 0 };
    const { state, fetch } = counting(3600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 300, now: () => clock.t });
    const first = await p();
    await p({ forceRefresh: true });
    p.invalidate(await p());
    await p();
    p.invalidate();
    await p();
    expect(first.accessKeyId).toBe('AKID1');
    expect(state.told).toEqual([
      { forceRefresh: false },
      { forceRefresh: true },
      { forceRefresh: false, refused: { accessKeyId: 'AKID2' } },
      { forceRefresh: false },
    ]);
  });

  it('keeps telling a failed fetch after invalidate(stale) which credentials were refused', async () => {
    const clock = { t: 0 };
    const { state, fetch } = counting(3600_000, clock);
    const p = memoizeCredentials(fetch, { refreshMarginSeconds: 300, now: () => clock.t });
    p.invalidate(await p());
    state.fail = 1;
    await expect(p()).rejects.toThrow('exchange 2 failed');
    expect((await p()).accessKeyId).toBe('AKID3');
    expect(state.told.slice(1).map((o) => o.refused?.accessKeyId)).toEqual(['AKID1', 'AKID1']);
  });
});

describe('refreshAt', () => {
  const at = (lifetimeS: number) => ({
    accessKeyId: 'a',
    secretAccessKey: 's',
    expiration: new Date(1_000_000 + lifetimeS * 1000),
  });

  it('is the margin before expiry, at most half the lifetime left; never for credentials without expiry', () => {
    expect(refreshAt(at(3600), 300, 1_000_000)).toBe(1_000_000 + 3300_000);
    expect(refreshAt(at(900), 1800, 1_000_000)).toBe(1_000_000 + 450_000);
    expect(refreshAt(at(0), 300, 1_000_000)).toBe(1_000_000);
    expect(refreshAt({ accessKeyId: 'a', secretAccessKey: 's' }, 300, 0)).toBe(Number.POSITIVE_INFINITY);
  });
});
