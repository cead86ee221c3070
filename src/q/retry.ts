/**
 * @module The one retry policy around every Q call: back off on throttling and 5xx, renew the AWS
 * session once when Q says it expired, retry once through the first-call subscription quirk, and
 * stop at once when the caller cancels. Everything else becomes a QindexError for the tool layer.
 */
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Logger } from '../log.js';
import { QindexError } from '../errors.js';
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
  attempt: () => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const used = { throttled: 0, server: 0, 'expired-credentials': 0, 'subscription-pending': 0 };
  const base = deps.baseDelayMs ?? 200;
  for (;;) {
    let signedWith: AwsCredentialIdentity | undefined;
    try {
      signedWith = await deps.currentCredentials();
      return await attempt();
    } catch (e) {
      if (options.signal?.aborted) throw cancelled(operation, e);
      const kind = classify(e);
      const retriable = kind !== 'final' && kind !== 'aborted' && (options.canRetry?.() ?? true);
      if (!retriable || used[kind] >= LIMITS[kind]) throw toQindexError(e, operation);
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
}

function cancelled(operation: string, cause: unknown): QindexError {
  return new QindexError('cancelled', `Amazon Q Business ${operation} was cancelled by the client.`, {
    cause,
    retryable: true,
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new QindexError('cancelled', 'Cancelled by the client.'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new QindexError('cancelled', 'Cancelled by the client.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
