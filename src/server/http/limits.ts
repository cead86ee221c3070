/**
 * @module Load limits for the HTTP transport: a bounded request body (413), a cap on one user's
 * concurrent requests (429), and the in-flight count graceful shutdown waits on.
 */
import type { IncomingMessage } from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Reads the whole body, refusing (413) anything over `maxBytes` before or while it streams in. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw new HttpError(413, `Request body exceeds ${maxBytes} bytes.`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw new HttpError(413, `Request body exceeds ${maxBytes} bytes.`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON-RPC body; a parse failure is the client's fault (400). */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'Parse error: the body is not valid JSON.');
  }
}

/** Per-key concurrency slots: `acquire` returns a release function, or undefined when the key is full. */
export function createConcurrencyLimiter(maxPerKey: number) {
  const active = new Map<string, number>();
  return {
    acquire(key: string): (() => void) | undefined {
      const n = active.get(key) ?? 0;
      if (n >= maxPerKey) return undefined;
      active.set(key, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (active.get(key) ?? 1) - 1;
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
