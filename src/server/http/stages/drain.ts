/**
 * @module The drain stage: once shutdown starts, new requests get 503 with `Connection: close`, so the
 * client retries on another replica while in-flight calls finish here.
 */
import { HttpError } from '../http-error.js';

export interface Drain {
  readonly draining: boolean;
  /** Starts draining; true the first time, false when already draining. */
  start(): boolean;
}

export function createDrain(): Drain {
  let draining = false;
  return {
    get draining() {
      return draining;
    },
    start() {
      if (draining) return false;
      draining = true;
      return true;
    },
  };
}

/** The stage: passes on, or throws 503 while draining. */
export function drainGuard(drain: Pick<Drain, 'draining'>) {
  return (): void => {
    if (drain.draining) {
      throw new HttpError(503, 'The server is shutting down; retry on another replica.', {
        headers: { connection: 'close' },
      });
    }
  };
}
