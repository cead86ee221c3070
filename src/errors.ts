/**
 * @module The one error type the product throws across layers: a stable `code`, a message that
 * says what went wrong, a `remedy` for whoever can fix it, and whether retrying can help.
 * Messages never carry tokens or keys.
 */
/**
 * Whose fix it is: the signed-in `user`, or the `operator` who configured and runs this server (in
 * bearer HTTP mode not the person calling the tool). Unset: not yet said.
 */
export type FixBy = 'user' | 'operator';

export interface QindexErrorOptions {
  remedy?: string;
  retryable?: boolean;
  cause?: unknown;
  fixBy?: FixBy;
}

export class QindexError extends Error {
  override name = 'QindexError';
  readonly code: string;
  readonly remedy: string | undefined;
  readonly retryable: boolean;
  readonly fixBy: FixBy | undefined;

  constructor(code: string, message: string, options: QindexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remedy = options.remedy;
    this.retryable = options.retryable ?? false;
    this.fixBy = options.fixBy;
  }
}

export const isQindexError = (e: unknown): e is QindexError => e instanceof QindexError;

/** "message. remedy" for people; the one rendering CLI, doctor and tool errors share. */
export function describeError(e: unknown): string {
  if (isQindexError(e)) return e.remedy ? `${e.message} ${e.remedy}` : e.message;
  return e instanceof Error ? e.message : String(e);
}
