/**
 * @module Load-limit primitives of the HTTP transport: bounded time to receive a request (408) and idle
 * connections, per-user request slots (the limits stage answers 429 with them), a cap on one user's
 * concurrent upstream calls, and the in-flight count graceful shutdown waits on.
 */
import type { ServerOptions } from 'node:http';
import type { HttpLimits } from '../../config/http.js';
import { ErrorCode, QindexError } from '../../errors.js';

/**
 * node:http's bounds on receiving requests. requestTimeout and headersTimeout end once a request is read,
 * so long responses and SSE streams live on; node enforces them only when it checks its connections,
 * every connectionsCheckingInterval (30 s by default: a 120 s limit cut bodies at up to 150 s), so it
 * checks at least every second. headersTimeout runs from the connection's start for its first request,
 * so a socket that never sends a byte is closed after it; keepAliveTimeout closes idle connections
 * between requests (node adds a second of grace).
 */
export function connectionLimits(limits: HttpLimits): ServerOptions {
  const requestTimeout = limits.requestTimeoutSeconds * 1000;
  const headersTimeout = Math.min(limits.headersTimeoutSeconds * 1000, requestTimeout);
  return {
    requestTimeout,
    headersTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
    connectionsCheckingInterval: Math.min(1000, Math.max(50, Math.floor(headersTimeout / 10))),
  };
}

/**
 * Per-key concurrency slots: `acquire` takes `n` slots at once (all or none) and returns a release
 * function, or undefined when the key has fewer than `n` free.
 */
export function createConcurrencyLimiter(maxPerKey: number) {
  const active = new Map<string, number>();
  return {
    acquire(key: string, n = 1): (() => void) | undefined {
      const held = active.get(key) ?? 0;
      if (held + n > maxPerKey) return undefined;
      active.set(key, held + n);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (active.get(key) ?? n) - n;
        if (left <= 0) active.delete(key);
        else active.set(key, left);
      };
    },
    active: (key: string) => active.get(key) ?? 0,
  };
}

/** Counts requests that shutdown must let finish; `drained` resolves when none are left. */
export function createInFlight() {
  let count = 0;
  let waiters: Array<() => void> = [];
  return {
    enter(): () => void {
      count++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        count--;
        if (count === 0) {
          for (const w of waiters) w();
          waiters = [];
        }
      };
    },
    get count() {
      return count;
    },
    drained(timeoutMs: number): Promise<boolean> {
      if (count === 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
  };
}

/**
 * Per-key cap on calls running at once, whichever request started them: a call over the cap waits its
 * turn (FIFO, abandoned when `signal` aborts), and one more than `maxWaiting` waiters is refused with a
 * retryable error instead of queueing without bound.
 */
export function createCallGate(maxRunning: number, maxWaiting: number, limitName: string) {
  interface Lane {
    running: number;
    waiting: Array<() => void>;
  }
  const lanes = new Map<string, Lane>();

  const enter = (key: string, signal: AbortSignal | undefined): Promise<void> => {
    let lane = lanes.get(key);
    if (!lane) lanes.set(key, (lane = { running: 0, waiting: [] }));
    if (lane.running < maxRunning) {
      lane.running++;
      return Promise.resolve();
    }
    if (lane.waiting.length >= maxWaiting) {
      return Promise.reject(
        new QindexError(
          ErrorCode.TooManyRequests,
          `Too many Amazon Q Business calls in flight for this user.`,
          {
            remedy: `Wait for earlier calls to finish, then retry (at most ${maxRunning} run at once).`,
            retryable: true,
            // The setting's name is for the operator (the log), not for a remote caller.
            details: { limit: limitName, maxRunning, maxWaiting },
          },
        ),
      );
    }
    const l = lane;
    return new Promise<void>((resolve, reject) => {
      const turn = () => {
        signal?.removeEventListener('abort', onAbort);
        l.running++;
        resolve();
      };
      const onAbort = () => {
        const i = l.waiting.indexOf(turn);
        if (i >= 0) l.waiting.splice(i, 1);
        reject(new QindexError(ErrorCode.Cancelled, 'Cancelled by the client.', { retryable: true }));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      l.waiting.push(turn);
    });
  };

  const leave = (key: string) => {
    const lane = lanes.get(key)!;
    lane.running--;
    const next = lane.waiting.shift();
    if (next) next();
    else if (lane.running === 0) lanes.delete(key);
  };

  return {
    async run<T>(key: string, call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      await enter(key, signal);
      try {
        return await call();
      } finally {
        leave(key);
      }
    },
    running: (key: string) => lanes.get(key)?.running ?? 0,
  };
}

export type ConcurrencyLimiter = ReturnType<typeof createConcurrencyLimiter>;
export type InFlight = ReturnType<typeof createInFlight>;
export type CallGate = ReturnType<typeof createCallGate>;
