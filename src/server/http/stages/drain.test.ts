/** @module Unit tests of the drain stage. */
import { describe, expect, it } from 'vitest';
import { createDrain, drainGuard } from './drain.js';

describe('drain stage', () => {
  it('passes until shutdown starts, then throws 503 with Connection: close', () => {
    const drain = createDrain();
    const guard = drainGuard(drain);
    expect(() => guard()).not.toThrow();
    expect(drain.start()).toBe(true);
    expect(drain.start()).toBe(false);
    expect(drain.draining).toBe(true);
    expect(() => guard()).toThrow(expect.objectContaining({ status: 503, headers: { connection: 'close' } }));
  });
});
