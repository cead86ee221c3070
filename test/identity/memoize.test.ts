/**
 * @module Tests of the credential memoizer: shared in-flight exchange, no cached failures, renewal a
 * margin before expiry, forceRefresh and invalidate(stale). The exchange behind it is a counting stub:
 * the memoizer is the part under test, the stub is its input.
 */
import { describe, expect, it } from 'vitest';
import type { AwsCredentialIdentity } from '@smithy/types';
import { memoizeCredentials } from '../../src/identity/memoize.js';

function counting(lifetimeMs: number, clock: { t: number }) {
  const state = { calls: 0, fail: 0 };
  const fetch = async (): Promise<AwsCredentialIdentity> => {
    state.calls++;
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
});
