/**
 * @module The limits stage: a user's concurrent requests take slots (429 with Retry-After when none is
 * free), and every request shutdown must wait for is counted in flight. GET, a session's long-lived
 * notification stream, is bounded by the session count instead: it takes no slot and shutdown does not
 * wait for it. Slots are given back when the response closes, however it ends; a client already gone when
 * its request is admitted (it hung up during authentication) takes none, as its response closed already.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../http-error.js';
import type { ConcurrencyLimiter, InFlight } from '../limits.js';

export interface Slots {
  /** Takes `n` more slots (a batch's other requests), all or none; throws 429 when fewer are free. */
  more(n: number): void;
}

export const tooManyRequests = () =>
  new HttpError(429, 'Too many concurrent requests for this user.', { headers: { 'retry-after': '1' } });

/** Nobody to answer: the response's connection closed before the request got this far. */
const clientGone = () => new HttpError(499, 'The client closed the connection.');

export function requestLimits(options: { concurrency: ConcurrencyLimiter; inFlight: InFlight }) {
  const { concurrency, inFlight } = options;
  return (
    req: Pick<IncomingMessage, 'method'>,
    res: Pick<ServerResponse, 'once' | 'destroyed'>,
    key: string,
  ): Slots => {
    if (req.method === 'GET') return { more: () => undefined };
    // A response that is already destroyed emits 'close' no more: a slot taken now would never come back.
    if (res.destroyed) throw clientGone();
    const release = concurrency.acquire(key);
    if (!release) throw tooManyRequests();
    const releases = [release, inFlight.enter()];
    let closed = false;
    res.once('close', () => {
      closed = true;
      for (const r of releases) r();
    });
    return {
      more(n) {
        if (n <= 0) return;
        if (closed) throw clientGone();
        const extra = concurrency.acquire(key, n);
        if (!extra) throw tooManyRequests();
        releases.push(extra);
      },
    };
  };
}
