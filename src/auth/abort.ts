/**
 * @module Ends a login wait promptly on Ctrl-C (the caller's AbortSignal) or on its time limit, with a
 * QindexError that says which of the two happened.
 */
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError } from '../errors.js';

export interface Deadline {
  signal: AbortSignal;
  /** Rejects with cancelled / login_timeout as soon as the signal fires. */
  aborted: Promise<never>;
  dispose(): void;
}

export function deadline(
  timeoutSeconds: number,
  userSignal: AbortSignal | undefined,
  what: string,
  options: { remedy?: string } = {},
): Deadline {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(timeoutError(timeoutSeconds, what, options.remedy)),
    timeoutSeconds * 1000,
  );
  const onUser = () => controller.abort(new QindexError(ErrorCode.Cancelled, `The ${what} was cancelled.`));
  if (userSignal?.aborted) onUser();
  userSignal?.addEventListener('abort', onUser, { once: true });
  let reject!: (e: unknown) => void;
  const aborted = new Promise<never>((_, r) => (reject = r));
  aborted.catch(() => undefined);
  const onAbort = () => reject(controller.signal.reason);
  if (controller.signal.aborted) onAbort();
  controller.signal.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    aborted,
    dispose() {
      clearTimeout(timer);
      userSignal?.removeEventListener('abort', onUser);
    },
  };
}

function timeoutError(seconds: number, what: string, remedy: string | undefined): QindexError {
  return new QindexError(ErrorCode.LoginTimeout, `The ${what} was not completed within ${seconds} s.`, {
    remedy: remedy ?? `Run \`${commandLine('login')}\` again (use --timeout to allow more time).`,
  });
}
