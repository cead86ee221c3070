/**
 * @module Unit tests of the retry policy: which failures are repeated and how often, the backoff's
 * bounds, one credential renewal per call, cancellation and the per-attempt watchdog. Errors are shaped
 * as the AWS SDK throws them. Backoff and watchdog run on vitest's fake clock (Math.random pinned), so
 * no test waits on or measures real time. Round trips against the emulator are in test/.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AwsCredentialIdentity } from '@smithy/types';
import { ErrorCode, QindexError } from '../errors.js';
import { createLogger } from '../log.js';
import { withRetries, type Attempt, type RetryDeps } from './retry.js';

const awsError = (name: string, members: Record<string, unknown> = {}, message = `${name} happened`) =>
  Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 }, ...members });
const throttled = () => awsError('ThrottlingException', { $metadata: { httpStatusCode: 429 } });
const server = () =>
  awsError('InternalServerException', { $fault: 'server', $metadata: { httpStatusCode: 500 } });
const expired = () =>
  awsError('ExpiredTokenException', {}, 'The security token included in the request is expired');
const subscription = () => awsError('AccessDeniedException', {}, 'User subscription is still being created');
const invalid = () => awsError('ValidationException', {}, 'query is too long');

function deps(over: Partial<RetryDeps> = {}) {
  let generation = 0;
  const renewed: AwsCredentialIdentity[] = [];
  const issued: string[] = [];
  const d: RetryDeps = {
    logger: createLogger({ level: 'silent' }),
    currentCredentials: () => {
      issued.push(`AKIDTEST${generation}`);
      return Promise.resolve({ accessKeyId: `AKIDTEST${generation}`, secretAccessKey: 'not-a-secret' });
    },
    renewCredentials: (refused) => {
      renewed.push(refused);
      generation++;
      return Promise.resolve();
    },
    baseDelayMs: 0,
    timeoutMs: 60_000,
    ...over,
  };
  return { deps: d, renewed, issued };
}

/** An attempt that fails with each of `failures` in turn, then returns 'ok'; counts its calls. */
function failing(...failures: Array<() => unknown>) {
  const calls: Attempt[] = [];
  const run = (a: Attempt) => {
    calls.push(a);
    const f = failures[calls.length - 1];
    return f ? Promise.reject(f()) : Promise.resolve('ok');
  };
  return { run, calls };
}

async function rejection(p: Promise<unknown>): Promise<QindexError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  return e as QindexError;
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('withRetries: what is repeated', () => {
  it('returns the first answer without retrying', async () => {
    const { run, calls } = failing();
    await expect(withRetries(deps().deps, 'Chat', run)).resolves.toBe('ok');
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(false);
  });

  it('repeats throttling up to three times, then gives up with throttled', async () => {
    const ok = failing(throttled, throttled, throttled);
    await expect(withRetries(deps().deps, 'Chat', ok.run)).resolves.toBe('ok');
    const out = failing(throttled, throttled, throttled, throttled);
    const e = await rejection(withRetries(deps().deps, 'Chat', out.run));
    expect(out.calls).toHaveLength(4);
    expect(e.code).toBe(ErrorCode.Throttled);
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('Amazon Q Business Chat');
  });

  it('repeats a server error twice, then gives up with q_unavailable', async () => {
    const out = failing(server, server, server);
    const e = await rejection(withRetries(deps().deps, 'SearchRelevantContent', out.run));
    expect(out.calls).toHaveLength(3);
    expect(e.code).toBe(ErrorCode.QUnavailable);
  });

  it('counts each kind on its own', async () => {
    const { run, calls } = failing(throttled, server, throttled, server, throttled, subscription);
    await expect(withRetries(deps().deps, 'Chat', run)).resolves.toBe('ok');
    expect(calls).toHaveLength(7);
  });

  it('repeats the first-call subscription refusal once', async () => {
    const ok = failing(subscription);
    await expect(withRetries(deps().deps, 'Chat', ok.run)).resolves.toBe('ok');
    const out = failing(subscription, subscription);
    const e = await rejection(withRetries(deps().deps, 'Chat', out.run));
    expect(out.calls).toHaveLength(2);
    expect(e.code).toBe(ErrorCode.QSubscriptionPending);
  });

  it('does not repeat a final error', async () => {
    const { run, calls } = failing(invalid);
    const e = await rejection(withRetries(deps().deps, 'Chat', run));
    expect(calls).toHaveLength(1);
    expect(e.code).toBe(ErrorCode.QInvalidRequest);
    expect(e.message).toContain('query is too long');
  });

  it('passes a QindexError through as it is', async () => {
    const own = new QindexError(ErrorCode.QBadResponse, 'bad response');
    const { run, calls } = failing(() => own);
    await expect(withRetries(deps().deps, 'Chat', run)).rejects.toBe(own);
    expect(calls).toHaveLength(1);
  });

  it('does not repeat once canRetry says no (a stream has delivered output)', async () => {
    const { run, calls } = failing(throttled);
    const e = await rejection(withRetries(deps().deps, 'Chat', run, { canRetry: () => false }));
    expect(calls).toHaveLength(1);
    expect(e.code).toBe(ErrorCode.Throttled);
  });
});

describe('withRetries: expired credentials', () => {
  it('renews the refused credentials once and signs the retry with the new ones', async () => {
    const { deps: d, renewed, issued } = deps();
    const { run } = failing(expired);
    await expect(withRetries(d, 'Chat', run)).resolves.toBe('ok');
    expect(renewed.map((c) => c.accessKeyId)).toEqual(['AKIDTEST0']);
    expect(issued).toEqual(['AKIDTEST0', 'AKIDTEST1']);
  });

  it('gives up with aws_credentials_expired when the renewed ones are refused too', async () => {
    const { deps: d, renewed } = deps();
    const { run, calls } = failing(expired, expired);
    const e = await rejection(withRetries(d, 'Chat', run));
    expect(calls).toHaveLength(2);
    expect(renewed).toHaveLength(1);
    expect(e.code).toBe(ErrorCode.AwsCredentialsExpired);
    expect(e.message).not.toContain('not-a-secret');
  });
});

describe('withRetries: backoff', () => {
  /** Runs `failures` under the fake clock; returns when each attempt started, in fake ms. */
  async function startTimes(base: number, random: number, ...failures: Array<() => unknown>) {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(random);
    const starts: number[] = [];
    const t0 = Date.now();
    const { run } = failing(...failures);
    const done = withRetries(deps({ baseDelayMs: base }).deps, 'Chat', (a) => {
      starts.push(Date.now() - t0);
      return run(a);
    });
    done.catch(() => undefined);
    await vi.runAllTimersAsync();
    return { starts, done };
  }
  const gaps = (starts: number[]) => starts.slice(1).map((s, i) => s - starts[i]!);

  it('backs off throttling by 1.5, 3 and 6 bases, plus up to half a base of jitter', async () => {
    const low = await startTimes(100, 0, throttled, throttled, throttled);
    await expect(low.done).resolves.toBe('ok');
    expect(gaps(low.starts)).toEqual([150, 300, 600]);
    const high = await startTimes(100, 0.999, throttled, throttled, throttled);
    for (const [gap, min] of gaps(high.starts).map((g, i) => [g, [150, 300, 600][i]!] as const)) {
      expect(gap).toBeGreaterThanOrEqual(min + 49);
      expect(gap).toBeLessThanOrEqual(min + 50);
    }
  });

  it('backs off server errors by 1 and 2 bases', async () => {
    const { starts, done } = await startTimes(100, 0, server, server);
    await expect(done).resolves.toBe('ok');
    expect(gaps(starts)).toEqual([100, 200]);
  });

  it('renews expired credentials without waiting', async () => {
    const { starts } = await startTimes(100, 0, expired);
    expect(gaps(starts)).toEqual([0]);
  });

  it('stops waiting as soon as the caller cancels, with cancelled', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    const { run, calls } = failing(throttled);
    const done = withRetries(deps({ baseDelayMs: 10_000 }).deps, 'Chat', run, { signal: controller.signal });
    const e = rejection(done);
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort();
    expect((await e).code).toBe(ErrorCode.Cancelled);
    expect(calls).toHaveLength(1);
  });
});

describe('withRetries: cancellation and watchdog', () => {
  it('aborts the attempt when the caller cancels, and says so', async () => {
    const controller = new AbortController();
    const seen: AbortSignal[] = [];
    const done = withRetries(
      deps().deps,
      'Chat',
      (a) =>
        new Promise((_, reject) => {
          seen.push(a.signal);
          a.signal.addEventListener('abort', () => reject(awsError('AbortError', {}, 'Request aborted')));
          controller.abort();
        }),
      { signal: controller.signal },
    );
    const e = await rejection(done);
    expect(e.code).toBe(ErrorCode.Cancelled);
    expect(e.message).toBe('Amazon Q Business Chat was cancelled by the client.');
    expect(seen).toHaveLength(1);
    expect(seen[0]!.aborted).toBe(true);
  });

  it('does not retry a failure that follows the caller cancelling', async () => {
    const controller = new AbortController();
    controller.abort();
    const { run, calls } = failing(throttled);
    const e = await rejection(withRetries(deps().deps, 'Chat', run, { signal: controller.signal }));
    expect(e.code).toBe(ErrorCode.Cancelled);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(true);
  });

  it('stops a silent attempt after timeoutMs with q_timeout, aborting its signal, without retrying', async () => {
    vi.useFakeTimers();
    const calls: Attempt[] = [];
    const done = withRetries(deps({ timeoutMs: 5_000 }).deps, 'ChatSync', (a) => {
      calls.push(a);
      return new Promise<never>(() => undefined);
    });
    const e = rejection(done);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(calls[0]!.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const err = await e;
    expect(err.code).toBe(ErrorCode.QTimeout);
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(
      'Amazon Q Business ChatSync did not answer within 5 s; the request was stopped.',
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(true);
    expect(calls[0]!.signal.reason).toBe(err);
  });

  it('counts idle time only: alive() restarts the clock, and the message says it stalled part-way', async () => {
    vi.useFakeTimers();
    let attempt!: Attempt;
    const done = withRetries(deps({ timeoutMs: 5_000 }).deps, 'Chat', (a) => {
      attempt = a;
      return new Promise<never>(() => undefined);
    });
    const e = rejection(done);
    await vi.advanceTimersByTimeAsync(4_000);
    attempt.alive();
    await vi.advanceTimersByTimeAsync(4_000);
    expect(attempt.signal.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1_000);
    const err = await e;
    expect(err.code).toBe(ErrorCode.QTimeout);
    expect(err.message).toContain('sent nothing for 5 s part-way through its answer');
  });

  it('holds a hanging credential exchange to the same limit', async () => {
    vi.useFakeTimers();
    const { run, calls } = failing();
    const done = withRetries(
      deps({ timeoutMs: 2_000, currentCredentials: () => new Promise<never>(() => undefined) }).deps,
      'Chat',
      run,
    );
    const e = rejection(done);
    await vi.advanceTimersByTimeAsync(2_000);
    expect((await e).code).toBe(ErrorCode.QTimeout);
    expect(calls).toHaveLength(0);
  });
});
