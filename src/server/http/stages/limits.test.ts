/** @module Unit tests of the limits stage: request slots per user, batches, GET streams, release on close. */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createConcurrencyLimiter, createInFlight } from '../limits.js';
import { requestLimits } from './limits.js';

function exchange(method: string) {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  return { req, res: new ServerResponse(req) };
}

function stage(max: number) {
  const concurrency = createConcurrencyLimiter(max);
  const inFlight = createInFlight();
  return { admit: requestLimits({ concurrency, inFlight }), concurrency, inFlight };
}

describe('limits stage', () => {
  it("takes one slot per request, refuses one over the user's cap with 429 + Retry-After, not other users", () => {
    const { admit, concurrency, inFlight } = stage(2);
    const a = exchange('POST');
    const b = exchange('POST');
    admit(a.req, a.res, 'alice');
    admit(b.req, b.res, 'alice');
    const c = exchange('POST');
    expect(() => admit(c.req, c.res, 'alice')).toThrow(
      expect.objectContaining({ status: 429, headers: { 'retry-after': '1' } }),
    );
    admit(c.req, c.res, 'bob');
    expect(concurrency.active('alice')).toBe(2);
    expect(inFlight.count).toBe(3);
    a.res.emit('close');
    expect(concurrency.active('alice')).toBe(1);
    expect(inFlight.count).toBe(2);
  });

  it("takes a batch's further slots all or none, and gives them back with the request", () => {
    const { admit, concurrency } = stage(4);
    const first = exchange('POST');
    admit(first.req, first.res, 'alice').more(2);
    expect(concurrency.active('alice')).toBe(3);
    const second = exchange('POST');
    const slots = admit(second.req, second.res, 'alice');
    expect(() => slots.more(1)).toThrow(expect.objectContaining({ status: 429 }));
    slots.more(0);
    expect(concurrency.active('alice')).toBe(4);
    first.res.emit('close');
    first.res.emit('close');
    expect(concurrency.active('alice')).toBe(1);
  });

  it('takes no slot for a client gone before admission, nor for a batch whose client left meanwhile', () => {
    const { admit, concurrency, inFlight } = stage(4);
    const gone = exchange('POST');
    gone.res.destroy();
    expect(() => admit(gone.req, gone.res, 'alice')).toThrow(expect.objectContaining({ status: 499 }));
    const batch = exchange('POST');
    const slots = admit(batch.req, batch.res, 'alice');
    batch.res.emit('close');
    expect(() => slots.more(2)).toThrow(expect.objectContaining({ status: 499 }));
    expect(concurrency.active('alice')).toBe(0);
    expect(inFlight.count).toBe(0);
  });

  it('lets a GET notification stream through without a slot or an in-flight count', () => {
    const { admit, concurrency, inFlight } = stage(1);
    for (let i = 0; i < 3; i++) {
      const get = exchange('GET');
      admit(get.req, get.res, 'alice');
    }
    expect(concurrency.active('alice')).toBe(0);
    expect(inFlight.count).toBe(0);
  });
});
