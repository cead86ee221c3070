/**
 * @module The one retry policy around every Q call: back off on throttling and 5xx, renew the AWS
 * session once when Q says it expired, retry once through the first-call subscription quirk, and
 * stop at once when the caller cancels. Each attempt runs under a watchdog (q.timeoutSeconds) that
 * aborts it when Q stays silent too long. Everything else becomes a QindexError for the tool layer.
 */
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Logger } from '../log.js';
import { ErrorCode, QindexError } from '../errors.js';
import { classify, toQindexError } from './errors.js';

export interface RetryDeps {
  logger: Logger;
  /** The credentials the next attempt will be signed with (cheap: the provider is memoized). */
  currentCredentials(): Promise<AwsCredentialIdentity>;
  /**
   * Renews the credentials Q refused as expired (once per call). Given the refused ones, so that many
   * calls failing on the same expired session cause one exchange, not one each.
   */
  renewCredentials(refused: AwsCredentialIdentity): Promise<unknown>;
  /** Backoff base in ms; tests and benches may lower it. */
  baseDelayMs?: number;
  /** How long one attempt may go without progress before it is aborted (q.timeoutSeconds). */
  timeoutMs: number;
}

/** What one attempt gets: the signal to pass to the SDK, and a way to show progress. */
export interface Attempt {
  /** Aborts when the caller cancels or the watchdog fires. */
  signal: AbortSignal;
  /** Restarts the watchdog's clock: a stream calls it on every event, so idle time is what counts. */
  alive(): void;
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** Whether a failed attempt may be repeated (false once a stream has delivered output). */
  canRetry?: () => boolean;
}

const LIMITS = { throttled: 3, server: 2, 'expired-credentials': 1, 'subscription-pending': 1 } as const;

export async function withRetries<T>(
  deps: RetryDeps,
  operation: string,
  attempt: (a: Attempt) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const used = { throttled: 0, server: 0, 'expired-credentials': 0, 'subscription-pending': 0 };
  const base = deps.baseDelayMs ?? 200;
  for (;;) {
    let signedWith: AwsCredentialIdentity | undefined;
    let failure: unknown;
    const watch = watchdog(deps.timeoutMs, operation, options.signal);
    try {
      // Under the watchdog too: a hanging credential exchange must not hold the call either.
      signedWith = await watch.race(deps.currentCredentials());
      return await watch.race(attempt(watch));
    } catch (e) {
      failure = e;
    } finally {
      watch.dispose();
    }
    if (options.signal?.aborted) throw cancelled(operation, failure);
    const kind = classify(failure);
    const retriable = kind !== 'final' && kind !== 'aborted' && (options.canRetry?.() ?? true);
    if (!retriable || used[kind] >= LIMITS[kind]) throw toQindexError(failure, operation);
    used[kind]++;
    deps.logger.warn({ operation, failure: kind, attempt: used[kind] }, 'retrying Q call');
    if (kind === 'expired-credentials' && signedWith) {
      await deps.renewCredentials(signedWith);
    } else {
      const factor = kind === 'throttled' ? 2 ** (used[kind] - 1) * 1.5 : 2 ** (used[kind] - 1);
      await sleep(base * factor + Math.random() * base * 0.5, options.signal);
    }
  }
}

interface Watchdog extends Attempt {
  /** Settles as `work` does, or rejects with q_timeout as soon as the watchdog fires. */
  race<T>(work: Promise<T>): Promise<T>;
  dispose(): void;
}

/**
 * Aborts an attempt after `ms` without progress. A timed-out attempt is not retried here: the caller
 * already waited the whole limit, and decides whether to ask again (the error says it may help).
 */
function watchdog(ms: number, operation: string, caller: AbortSignal | undefined): Watchdog {
  const controller = new AbortController();
  const onCancel = () => controller.abort(caller?.reason);
  if (caller?.aborted) onCancel();
  caller?.addEventListener('abort', onCancel, { once: true });
  let progressed = false;
  let fire!: (e: QindexError) => void;
  const fired = new Promise<never>((_, reject) => (fire = reject));
  fired.catch(() => undefined);
  const timer = setTimeout(() => {
    const error = timedOut(operation, ms, progressed);
    // Reject first, so the race reports the timeout rather than the AbortError the SDK throws next.
    fire(error);
    controller.abort(error);
  }, ms);
  return {
    signal: controller.signal,
    alive() {
      progressed = true;
      timer.refresh();
    },
    race: (work) => Promise.race([work, fired]),
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCancel);
    },
  };
}

function timedOut(operation: string, ms: number, progressed: boolean): QindexError {
  const s = ms / 1000;
  const what = progressed
    ? `Amazon Q Business ${operation} sent nothing for ${s} s part-way through its answer; the request was stopped.`
    : `Amazon Q Business ${operation} did not answer within ${s} s; the request was stopped.`;
  return new QindexError(ErrorCode.QTimeout, what, {
    retryable: true,
    remedy: 'Try again shortly; the service was slow to respond.',
  });
}

function cancelled(operation: string, cause: unknown): QindexError {
  return new QindexError(ErrorCode.Cancelled, `Amazon Q Business ${operation} was cancelled by the client.`, {
    cause,
    retryable: true,
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new QindexError(ErrorCode.Cancelled, 'Cancelled by the client.'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new QindexError(ErrorCode.Cancelled, 'Cancelled by the client.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
