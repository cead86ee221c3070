/**
 * @module Turns AWS SDK errors from the exchange calls (sso-oidc, STS) into typed QindexErrors that
 * name the cause and give the remedy to whoever can fix it: an IdC administrator, the IAM role's
 * owner, the ISV's operator, or the user (sign in again). The table in error-table.ts decides, keyed by
 * (step, exception name); this file finds the cell and the facts. Messages never carry tokens.
 */
import { ErrorCode, QindexError, hasCode, isQindexError, redact } from '../errors.js';
import { commandLine } from '../config/invocation.js';
import type { QindexConfig } from '../config/schema.js';
import { EXPIRED, TABLE, THROTTLED, type Facts, type Grant, type Row } from './error-table.js';

/** The exchange calls, named as in design.md section 2. */
export type ExchangeStep =
  | 'sts:AssumeRole (tenant tag)'
  | 'sso-oidc:CreateTokenWithIAM'
  | 'sts:AssumeRole (identity context)'
  | 'sts:AssumeRoleWithWebIdentity'
  | 'idc:authorize';

export interface ErrorContext {
  config: Pick<QindexConfig, 'profile' | 'idp' | 'mode'>;
  step: ExchangeStep;
  /** Non-secret claims of the ID token used, when there was one. */
  claims?: { iss?: string; aud?: string | string[]; email?: string; sub?: string };
}

/** True when `e`, or an error it wraps, was refused as a reused assertion: decided by code alone. */
export const isReusedAssertion = (e: unknown): boolean => hasCode(e, ErrorCode.AssertionReused);

/** True when AWS refused credentials because the session expired (re-exchange, once). */
export function isExpiredCredentials(e: unknown): boolean {
  return EXPIRED.has((e as AwsErrorLike)?.name ?? '');
}

/** What an AWS SDK error looks like from outside (sso-oidc adds OAuth's error/error_description/reason). */
interface AwsErrorLike {
  name?: string;
  message?: string;
  error?: string;
  error_description?: string;
  reason?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Maps an error thrown during `ctx.step` to a QindexError; QindexErrors (from sign-in) pass through. */
export function toIdentityError(e: unknown, ctx: ErrorContext): QindexError {
  if (isQindexError(e)) return e;
  const err = (e ?? {}) as AwsErrorLike;
  const name = exceptionName(err);
  const text = [err.error, err.error_description, err.reason, err.message].filter(Boolean).join(' ');
  const grant = grantOf(ctx.config.mode);
  const applies = (row: Row) => (!row.grant || row.grant === grant) && (!row.when || row.when.test(text));
  const row = [TABLE[ctx.step]?.[name], TABLE.any?.[name]].flatMap((rows) => rows ?? []).find(applies);
  const status = err.$metadata?.httpStatusCode ?? 0;
  const facts = factsOf(err, name, text, ctx);
  const outcome = row
    ? row.build(facts)
    : status === 429
      ? THROTTLED(facts)
      : {
          code: ErrorCode.ExchangeFailed,
          message: `${ctx.step} failed ${facts.said}.`,
          retryable: status >= 500,
          remedy: `Run \`${commandLine('doctor')}\` to see which step of the identity chain fails and why.`,
        };
  return new QindexError(outcome.code, outcome.message, {
    cause: e,
    remedy: outcome.remedy,
    retryable: outcome.retryable ?? false,
    details: { step: ctx.step, exception: name, ...(status ? { status } : {}) },
  });
}

/** The refused error's name; for errors below HTTP (no AWS answer), Node's code (ECONNREFUSED …). */
function exceptionName(err: AwsErrorLike): string {
  if (!err.$metadata?.httpStatusCode && err.code && /^E[A-Z_]+$/.test(err.code)) return err.code;
  return err.name ?? 'Error';
}

function grantOf(mode: ErrorContext['config']['mode']): Grant | undefined {
  if (mode.type === 'idc') return 'jwt-bearer';
  if (mode.type === 'data-accessor') return mode.grant === 'auth-code' ? 'auth-code' : 'jwt-bearer';
  return undefined;
}

function factsOf(err: AwsErrorLike, name: string, text: string, ctx: ErrorContext): Facts {
  const { config, step } = ctx;
  const mode = config.mode;
  return {
    step,
    mode,
    said: `(${step} answered ${name}: ${clip(shown(err))})`,
    detail: clip(err.message ?? name),
    text,
    idcArn: 'idcApplicationArn' in mode ? mode.idcApplicationArn : undefined,
    issuer: ctx.claims?.iss ?? config.idp.issuer,
    audience: [ctx.claims?.aud ?? config.idp.clientId].flat().join(', '),
    email: ctx.claims?.email,
  };
}

/** The refresh token at the IdP (or IdC) is gone: the user must sign in again. */
export function loginExpired(profile: string, cause?: unknown): QindexError {
  return new QindexError(ErrorCode.LoginExpired, 'The sign-in has expired or was revoked.', {
    cause,
    remedy: `Sign in again: run \`${commandLine('login', { profile })}\`.`,
  });
}

/** AWS's own explanation, for people: sso-oidc puts it in error_description (message is "UnknownError"). */
function shown(err: AwsErrorLike): string {
  const message = err.message && err.message !== 'UnknownError' ? err.message : undefined;
  return err.error_description ?? message ?? err.error ?? err.name ?? 'no detail';
}

/** Shortens AWS's text, redacted in case a service echoes a value it refused (a token, a key). */
const clip = (s: string) => {
  const safe = redact(s);
  return safe.length > 300 ? `${safe.slice(0, 297)}...` : safe;
};
