/**
 * @module Turns what the Q Business API (and the HTTP layer under it) throws into QindexErrors that
 * say what failed, whether retrying helps and what the user must do; and classifies failures for
 * the retry policy in client.ts. A configured id Q does not know is a configuration error.
 */
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError, isQindexError } from '../errors.js';
import type { QindexConfig } from '../config/schema.js';
import { sourceText, sourceOf, type ValueSource } from '../config/load.js';

/** What the retry policy does with a failure. */
export type FailureKind =
  'throttled' | 'server' | 'expired-credentials' | 'subscription-pending' | 'aborted' | 'final';

interface AwsLikeError {
  name?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
  reason?: string;
  fields?: Array<{ name?: string; message?: string }>;
  resourceId?: string;
  resourceType?: string;
}

const aws = (e: unknown): AwsLikeError => (typeof e === 'object' && e !== null ? (e as AwsLikeError) : {});
const status = (e: unknown) => aws(e).$metadata?.httpStatusCode;

const EXPIRED = new Set([
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
]);

export function isAbort(e: unknown): boolean {
  const name = aws(e).name;
  return (
    name === 'AbortError' || (e instanceof Error && /aborted/i.test(e.message) && name !== 'QindexError')
  );
}

export function classify(e: unknown): FailureKind {
  if (isQindexError(e)) return 'final';
  if (isAbort(e)) return 'aborted';
  const { name = '', message = '', $fault } = aws(e);
  if (name === 'ThrottlingException' || name === 'TooManyRequestsException' || status(e) === 429) {
    return 'throttled';
  }
  if (EXPIRED.has(name) || /security token .*expired/i.test(message)) return 'expired-credentials';
  if (name === 'AccessDeniedException' && /subscription/i.test(message)) return 'subscription-pending';
  if ($fault === 'server' || (status(e) ?? 0) >= 500 || name === 'InternalServerException') return 'server';
  return 'final';
}

/**
 * The QindexError for a failed Q call. `operation` is the API name (e.g. ChatSync); messages quote
 * AWS's own message, which carries no credentials.
 */
export function toQindexError(e: unknown, operation: string): QindexError {
  if (isQindexError(e)) return e;
  const err = aws(e);
  const name = err.name ?? 'Error';
  const detail = (err.message ?? String(e)).slice(0, 500);
  const what = `Amazon Q Business ${operation} failed`;
  const requestId = err.$metadata?.requestId;
  const opts = {
    cause: e,
    // For the log (a remote user's error is logged whole under its reference): which call, what AWS said.
    details: {
      operation,
      exception: name,
      ...(status(e) ? { status: status(e) } : {}),
      ...(requestId ? { requestId } : {}),
    },
  };
  switch (classify(e)) {
    case 'aborted':
      return new QindexError(ErrorCode.Cancelled, `${what}: the request was cancelled.`, {
        ...opts,
        retryable: true,
      });
    case 'throttled':
      return new QindexError(
        ErrorCode.Throttled,
        `${what}: the service is throttling requests (${detail}).`,
        {
          ...opts,
          retryable: true,
          remedy: 'Wait a few seconds and try again; the server already retried with backoff.',
        },
      );
    case 'server':
      return new QindexError(ErrorCode.QUnavailable, `${what} with a server error ${name} (${detail}).`, {
        ...opts,
        retryable: true,
        remedy: 'This is on the AWS side; try again shortly.',
      });
    case 'expired-credentials':
      return new QindexError(
        ErrorCode.AwsCredentialsExpired,
        `${what}: the AWS session was rejected as expired even after renewing it.`,
        {
          ...opts,
          retryable: true,
          remedy: `Try again; if it persists, sign in again with \`${commandLine('login')}\`.`,
        },
      );
    case 'subscription-pending':
      return new QindexError(
        ErrorCode.QSubscriptionPending,
        `${what}: the user has no Amazon Q Business subscription yet (${detail}).`,
        {
          ...opts,
          retryable: true,
          remedy: 'New users are subscribed automatically within moments; try again, else ask an admin.',
        },
      );
    default:
      break;
  }
  switch (name) {
    case 'AccessDeniedException':
      return new QindexError(ErrorCode.QAccessDenied, `${what}: access denied (${detail}).`, {
        ...opts,
        remedy:
          'The signed-in user or the configured role may not perform this action on this application; check the Q application id and the role policy, or ask an admin.',
      });
    case 'ValidationException': {
      const fields = (err.fields ?? []).map((f) => `${f.name ?? '?'}: ${f.message ?? 'invalid'}`).join('; ');
      return new QindexError(
        ErrorCode.QInvalidRequest,
        `${what}: the request was rejected as invalid (${detail}${fields ? `; ${fields}` : ''}).`,
        {
          ...opts,
          remedy: 'Change the arguments (see the message) and call again; retrying as-is will not help.',
        },
      );
    }
    case 'ResourceNotFoundException': {
      const named =
        err.resourceId && !detail.includes(err.resourceId)
          ? ` (${err.resourceType ?? 'resource'} ${err.resourceId})`
          : '';
      return new QindexError(ErrorCode.QNotFound, `${what}: ${detail.replace(/\.$/, '')}${named}.`, {
        ...opts,
        remedy:
          'Check the id: conversation, message and document ids come from earlier results for the same user, and documents this user may not read are reported as not found.',
      });
    }
    case 'ConflictException':
      return new QindexError(ErrorCode.QConflict, `${what}: conflict (${detail}).`, {
        ...opts,
        retryable: true,
        remedy: 'Another request changed the same resource; try again.',
      });
    case 'LicenseNotFoundException':
      return new QindexError(
        ErrorCode.QNoLicense,
        `${what}: the user has no Amazon Q Business license (${detail}).`,
        {
          ...opts,
          remedy: 'Ask an admin to subscribe this user to the Q Business application.',
        },
      );
    case 'ServiceQuotaExceededException':
      return new QindexError(ErrorCode.QQuota, `${what}: a service quota was exceeded (${detail}).`, {
        ...opts,
        remedy: 'Delete old conversations or ask an admin to raise the quota.',
      });
    case 'ExternalResourceException':
      return new QindexError(ErrorCode.QExternal, `${what}: an external resource failed (${detail}).`, {
        ...opts,
        retryable: true,
        remedy: 'Try again later.',
      });
    default:
      return new QindexError(ErrorCode.QFailed, `${what}: ${name} (${detail}).`, {
        ...opts,
        retryable: (status(e) ?? 0) >= 500,
      });
  }
}

/** The configured ids a ResourceNotFoundException can name, and how to find a right one. */
const CONFIGURED = [
  {
    path: 'q.applicationId',
    id: (q: QindexConfig['q']) => q.applicationId,
    type: /application/i,
    missing: (q: QindexConfig['q'], id: string) =>
      `there is no Amazon Q Business application ${id} in ${q.region}`,
    hint: () =>
      'the id of the Amazon Q Business application (36 characters, shown in the Amazon Q Business console), and q.region to the region it is in',
  },
  {
    path: 'q.retrieverId',
    id: (q: QindexConfig['q']) => q.retrieverId,
    type: /retriever/i,
    missing: (q: QindexConfig['q'], id: string) => `application ${q.applicationId} has no retriever ${id}`,
    hint: (q: QindexConfig['q']) =>
      `a retriever of application ${q.applicationId} (aws qbusiness list-retrievers --application-id ${q.applicationId} --region ${q.region})`,
  },
  {
    path: 'q.indexId',
    id: (q: QindexConfig['q']) => q.indexId,
    type: /index/i,
    missing: (q: QindexConfig['q'], id: string) => `application ${q.applicationId} has no index ${id}`,
    hint: (q: QindexConfig['q']) =>
      `an index of application ${q.applicationId} (aws qbusiness list-indices --application-id ${q.applicationId} --region ${q.region})`,
  },
] as const;

/**
 * The configuration error for a Q refusal that names the configured application, retriever or index as
 * missing (ResourceNotFoundException's resourceId, else its resourceType); undefined for anything else.
 * No argument a user passes can fix it: the remedy is for whoever configured the server.
 */
export function configuredResourceMissing(
  e: unknown,
  operation: string,
  config: Pick<QindexConfig, 'q' | 'mode'>,
): QindexError | undefined {
  const err = aws(isQindexError(e) ? e.cause : e);
  if (err.name !== 'ResourceNotFoundException') return undefined;
  const q = config.q;
  const named = CONFIGURED.find((c) => {
    const id = c.id(q);
    if (id === undefined) return false;
    return err.resourceId ? err.resourceId === id : c.type.test(err.resourceType ?? '');
  });
  const id = named?.id(q);
  if (!named || id === undefined) return undefined;
  const source = sourceOf(config, named.path);
  const handedOver =
    config.mode.type === 'data-accessor' ? ' The customer hands these ids over with the data accessor.' : '';
  return new QindexError(
    ErrorCode.ConfigInvalid,
    `Amazon Q Business ${operation} failed: ${named.missing(q, id)}; it comes from ${named.path}${sourceText(source)}.`,
    {
      cause: isQindexError(e) ? e.cause : e,
      fixBy: 'operator',
      remedy: `${howToSet(named.path, source)} to ${named.hint(q)}.${handedOver}`,
      details: { operation, field: named.path, ...(source ? { source: source.kind } : {}) },
    },
  );
}

function howToSet(path: string, source: ValueSource | undefined): string {
  if (source?.kind === 'env') return `Set the environment variable ${source.name}`;
  if (source?.kind === 'flag') return `Pass ${source.name}`;
  return `Set ${path} in ${source?.kind === 'file' ? source.file : 'the configuration'}`;
}
