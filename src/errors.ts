/**
 * @module The product's one error model: a typed set of codes; QindexError, which carries a code, a
 * message, a remedy, whether retrying helps, whose fix it is and structured details; hasCode() for
 * recovery paths; redact(), the one redaction of secrets every layer uses; and renderError(), the one
 * place an error becomes text for a person: the CLI, a local MCP client, or a remote one (bearer HTTP),
 * who never reads operator instructions but gets a reference id the server log carries with the detail.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from './log.js';

/** Every code a QindexError can carry; README's troubleshooting table lists each (a test checks). */
export const ErrorCode = {
  // Configuration
  ConfigInvalid: 'config_invalid',
  // Sign-in at the identity provider, the stored login
  NotSignedIn: 'not_signed_in',
  LoginExpired: 'login_expired',
  ProfileMismatch: 'profile_mismatch',
  LoginTimeout: 'login_timeout',
  LoginDenied: 'login_denied',
  Cancelled: 'cancelled',
  StateMismatch: 'state_mismatch',
  PortInUse: 'port_in_use',
  CallbackListenFailed: 'callback_listen_failed',
  DeviceUnsupported: 'device_unsupported',
  SignInBusy: 'sign_in_busy',
  SignInFailed: 'sign_in_failed',
  WrongClient: 'wrong_client',
  InvalidScope: 'invalid_scope',
  NoIdToken: 'no_id_token',
  NoRefreshToken: 'no_refresh_token',
  IdTokenInvalid: 'id_token_invalid',
  InsecureIssuer: 'insecure_issuer',
  IdpUnavailable: 'idp_unavailable',
  IdpError: 'idp_error',
  IdpDiscoveryFailed: 'idp_discovery_failed',
  TokenStoreCorrupt: 'token_store_corrupt',
  TokenStoreUnreadable: 'token_store_unreadable',
  TokenStoreWriteFailed: 'token_store_write_failed',
  KeychainUnavailable: 'keychain_unavailable',
  KeychainLocked: 'keychain_locked',
  // Any service limiting the request rate (AWS, Q, the identity provider)
  Throttled: 'throttled',
  // The identity exchange (STS, IAM Identity Center)
  AssertionReused: 'assertion_reused',
  AwsUnreachable: 'aws_unreachable',
  AwsCredentialsMissing: 'aws_credentials_missing',
  AwsCredentialsInvalid: 'aws_credentials_invalid',
  AwsCredentialsExpired: 'aws_credentials_expired',
  CredentialsTimeout: 'credentials_timeout',
  IdTokenExpired: 'id_token_expired',
  ExchangeFailed: 'exchange_failed',
  RoleTrust: 'role_trust',
  AudienceNotAuthorized: 'audience_not_authorized',
  UntrustedIssuer: 'untrusted_issuer',
  TenantMismatch: 'tenant_mismatch',
  IdcAccessDenied: 'idc_access_denied',
  IdcApplicationInvalid: 'idc_application_invalid',
  UnknownUser: 'unknown_user',
  MissingEmailTag: 'missing_email_tag',
  IdcLoginRequired: 'idc_login_required',
  IdcLoginFailed: 'idc_login_failed',
  // Amazon Q Business
  QAccessDenied: 'q_access_denied',
  QInvalidRequest: 'q_invalid_request',
  QNotFound: 'q_not_found',
  QConflict: 'q_conflict',
  QNoLicense: 'q_no_license',
  QQuota: 'q_quota',
  QExternal: 'q_external',
  QFailed: 'q_failed',
  QBadResponse: 'q_bad_response',
  QTimeout: 'q_timeout',
  QUnavailable: 'q_unavailable',
  QStreamInterrupted: 'q_stream_interrupted',
  QSubscriptionPending: 'q_subscription_pending',
  DocumentDownloadFailed: 'document_download_failed',
  DocumentTooLarge: 'document_too_large',
  // Tools and the HTTP server
  InvalidNextToken: 'invalid_next_token',
  TooManyRequests: 'too_many_requests',
  InvalidToken: 'invalid_token',
  UnknownTenant: 'unknown_tenant',
  Internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Whose fix it is: the `user` calling (sign in, change an argument, wait and retry), or the `operator`
 * who configured and runs this server, or administers what it relies on (IdP, IAM, IAM Identity Center).
 * They are one person locally; in bearer HTTP mode a remote user never reads operator instructions.
 */
export type FixBy = 'user' | 'operator';

const user = (summary: string) => ({ fixBy: 'user', summary }) as const;
const operator = (summary: string) => ({ fixBy: 'operator', summary }) as const;

/**
 * Per code: whose fix it is unless an error says otherwise, and what it means in words fit for anyone
 * (no setting names, paths or commands): what a remote user reads for an operator's error.
 */
const ABOUT: Record<ErrorCode, { fixBy: FixBy; summary: string }> = {
  config_invalid: operator("The server's configuration is missing a setting or has a wrong one."),
  not_signed_in: user('Nobody is signed in for this profile.'),
  login_expired: user('The sign-in has expired or was revoked at the identity provider.'),
  profile_mismatch: user('The stored sign-in belongs to another identity provider or client.'),
  login_timeout: user('The sign-in was not completed in time.'),
  login_denied: user('The sign-in was denied at the identity provider.'),
  cancelled: user('The request was cancelled.'),
  state_mismatch: user('The browser came back with a response that does not belong to this sign-in.'),
  port_in_use: user('The local port for the sign-in callback is in use.'),
  callback_listen_failed: user('The sign-in callback could not listen on its local port.'),
  device_unsupported: user('The identity provider does not offer sign-in with a device code.'),
  sign_in_busy: user('Another process holds the sign-in lock.'),
  sign_in_failed: operator('No fresh ID token could be obtained from the identity provider.'),
  wrong_client: operator('The identity provider does not accept the configured client.'),
  invalid_scope: operator('The identity provider refused the requested scopes.'),
  no_id_token: operator('The identity provider returned no ID token.'),
  no_refresh_token: operator('The identity provider returned no refresh token.'),
  id_token_invalid: operator('A token from the identity provider failed validation.'),
  insecure_issuer: operator('An identity provider address uses plain HTTP.'),
  idp_unavailable: operator('The identity provider could not be reached or answered with a server error.'),
  idp_error: operator('The identity provider refused a request.'),
  idp_discovery_failed: operator("The identity provider's discovery document is missing or wrong."),
  token_store_corrupt: user('The stored sign-in is damaged.'),
  token_store_unreadable: user('The token store cannot be read.'),
  token_store_write_failed: user('The sign-in could not be saved in the token store.'),
  keychain_unavailable: user('The OS keychain is not available.'),
  keychain_locked: user('The OS keychain is locked.'),
  throttled: user('A service is limiting the request rate.'),
  assertion_reused: user('The token was already used for a credential exchange; a fresh one is needed.'),
  aws_unreachable: operator('AWS could not be reached.'),
  aws_credentials_missing: operator('The server has no AWS credentials for the identity exchange.'),
  aws_credentials_invalid: operator("AWS refused the server's AWS credentials."),
  aws_credentials_expired: operator('AWS credentials have expired.'),
  credentials_timeout: operator('Waiting for credentials from another server replica timed out.'),
  id_token_expired: operator('The ID token had expired when AWS checked it (clock skew).'),
  exchange_failed: operator('The identity exchange with AWS failed.'),
  role_trust: operator("An IAM role's trust policy does not allow the identity exchange."),
  audience_not_authorized: operator("The token's audience is not authorized for the identity exchange."),
  untrusted_issuer: operator('AWS does not trust the identity provider.'),
  tenant_mismatch: operator("The server's tenant id does not match the data accessor."),
  idc_access_denied: operator('The server may not use the IAM Identity Center application.'),
  idc_application_invalid: operator('IAM Identity Center refused the application.'),
  unknown_user: operator('IAM Identity Center has no user with the signed-in email.'),
  missing_email_tag: operator('The ID token lacks the Email principal tag.'),
  idc_login_required: user('A sign-in through IAM Identity Center is needed.'),
  idc_login_failed: user('IAM Identity Center refused the login.'),
  q_access_denied: operator('Amazon Q Business refused the action.'),
  q_invalid_request: user("Amazon Q Business rejected the request's arguments."),
  q_not_found: user('The conversation, message or document does not exist for this user.'),
  q_conflict: user('Another request changed the same resource.'),
  q_no_license: operator('The user has no Amazon Q Business license.'),
  q_quota: user('An Amazon Q Business quota was exceeded.'),
  q_external: user('A resource outside Amazon Q Business failed.'),
  q_failed: operator('Amazon Q Business failed.'),
  q_bad_response: operator('Amazon Q Business answered in an unexpected way.'),
  q_timeout: user('Amazon Q Business did not answer in time.'),
  q_unavailable: user('Amazon Q Business answered with a server error.'),
  q_stream_interrupted: user('The streamed answer broke off.'),
  q_subscription_pending: user("The user's Amazon Q Business subscription is still being set up."),
  document_download_failed: user('Downloading the document failed.'),
  document_too_large: user('The document is too large to read whole.'),
  invalid_next_token: user('The nextToken does not continue this search.'),
  too_many_requests: user('Too many calls are in flight for this user.'),
  invalid_token: user('The bearer token was refused.'),
  unknown_tenant: operator('The token names no tenant this server serves.'),
  internal: operator('The server failed unexpectedly.'),
};

/** Whose fix a code is by default, and its audience-neutral summary. */
export const aboutCode = (code: ErrorCode) => ABOUT[code];

/** Facts about an error for the log and for tests: flat, plain values, never a secret. */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | undefined>>;

export interface QindexErrorOptions {
  remedy?: string;
  retryable?: boolean;
  cause?: unknown;
  /** Default: the code's (see ABOUT). */
  fixBy?: FixBy;
  details?: ErrorDetails;
}

export class QindexError extends Error {
  override name = 'QindexError';
  readonly code: ErrorCode;
  readonly remedy: string | undefined;
  readonly retryable: boolean;
  readonly fixBy: FixBy;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, options: QindexErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.remedy = options.remedy;
    this.retryable = options.retryable ?? false;
    this.fixBy = options.fixBy ?? ABOUT[code].fixBy;
    this.details = options.details ?? {};
  }
}

export const isQindexError = (e: unknown): e is QindexError => e instanceof QindexError;

/** The first QindexError with one of `codes` in `e` and the errors it wraps (its `cause` chain). */
export function findCode(e: unknown, ...codes: ErrorCode[]): QindexError | undefined {
  for (let cur = e, depth = 0; typeof cur === 'object' && cur !== null && depth < 8; depth++) {
    if (isQindexError(cur) && codes.includes(cur.code)) return cur;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when `e`, or an error it wraps, is a QindexError with one of `codes`: how recovery paths decide. */
export const hasCode = (e: unknown, ...codes: ErrorCode[]): boolean => findCode(e, ...codes) !== undefined;

// ---------------------------------------------------------------------------------------------------
// Redaction: the last line of defence for text and log fields, in every layer.

const REDACTED = '[redacted]';

/** Keys whose values are secrets whatever they look like (compared lower-case, without - and _). */
const SECRET_KEY =
  /token|secret|password|passwd|assertion|authorization|cookie|identitycontext|credential|verifier|privatekey|apikey/;

const TEXT_RULES: Array<[RegExp, string | ((match: string, ...rest: never[]) => string)]> = [
  // JWS/JWE compact serializations (ID, access and IdC tokens): a base64url JSON header, then dots.
  [/eyJ[\w-]*(?:\.[\w-]*){1,4}/g, REDACTED],
  // AWS access key ids: long-term (AKIA), temporary (ASIA) and the other IAM unique-id prefixes.
  [/\b(?:AKIA|ASIA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|AGPA)[A-Z0-9]{16}\b/g, REDACTED],
  // The value after a secret-named key: refresh_token=…, "clientSecret": "…", Authorization: Bearer …
  [
    /((?:token|secret|password|passwd|assertion|authorization|credential|cookie|identity_?context|verifier|signature)["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic)\s+)?)[^\s"'&,;]+/gi,
    (_m, key: string) => `${key}${REDACTED}`,
  ],
  // A password in a URL: scheme://user:password@host.
  [/(\/\/)[^/\s:@]*:[^/\s@]+@/g, `$1${REDACTED}@`],
  // Long base64/base64url runs that mix character classes: AWS secret keys (40), session tokens,
  // identity contexts, refresh tokens. Hyphenated lower-case names and paths stay readable.
  [
    /[A-Za-z0-9+/=_-]{40,}/g,
    (run: string, offset: unknown, text: unknown) =>
      mixed(run) && !isPath(run, Number(offset), String(text)) ? REDACTED : run,
  ],
];

/**
 * An absolute or home-relative file path (/tmp/x-Ab12/bin/node, ~/.config/…): short segments, no
 * base64 padding or '+'. Commands the product prints name such paths; a secret rarely starts with '/'.
 */
const isPath = (run: string, offset: number, text: string) => {
  const start = run.startsWith('/') || text[offset - 1] === '.' || text[offset - 1] === '~';
  const segments = run.split('/').filter(Boolean);
  return start && segments.length >= 2 && !/[+=]/.test(run) && segments.every((seg) => seg.length < 32);
};

/** Two of lower-case, upper-case and digits: how random tokens look, and words mostly do not. */
const mixed = (s: string) => [/[a-z]/, /[A-Z]/, /\d/].filter((r) => r.test(s)).length >= 2;

/**
 * Blanks secrets: in text, anything shaped like a JWT, an AWS key, a long opaque token or a secret after
 * its name; in objects (log fields), also every value under a secret-named key. Errors become plain
 * `{type, message, code}` objects. Cycles and deep nesting end in "[…]".
 */
export function redact(text: string): string;
export function redact<T>(value: T): T;
export function redact(value: unknown): unknown {
  return redactValue(value, 0);
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return TEXT_RULES.reduce((s, [re, by]) => s.replace(re, by as never), value);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (depth > 6) return '[…]';
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      type: value.name,
      message: redactValue(value.message, depth + 1),
      ...(typeof code === 'string' ? { code } : {}),
    };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  // What JSON would print of it (a Date, a URL), redacted like any text.
  const toJSON = (value as { toJSON?: () => unknown }).toJSON;
  if (typeof toJSON === 'function') return redactValue(toJSON.call(value), depth + 1);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = SECRET_KEY.test(k.toLowerCase().replace(/[-_]/g, '')) && v !== undefined && v !== null;
    out[k] = secret && typeof v !== 'boolean' && typeof v !== 'number' ? REDACTED : redactValue(v, depth + 1);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Rendering: the one place an error becomes text for a person.

/**
 * Who reads the error: `cli` (a terminal), `local` (an MCP client on this machine: stdio, local HTTP),
 * `remote` (a bearer-HTTP client: a remote user or their LLM, not whoever runs this server).
 */
export type Audience = 'cli' | 'local' | 'remote';

interface RenderBase {
  /** The tool that failed, if one did: the text starts "<subject> failed: ". */
  subject?: string;
}

export type RenderOptions =
  | (RenderBase & { audience: 'cli' | 'local' })
  | (RenderBase & {
      audience: 'remote';
      /** Gets the whole error (message, remedy, details) under the reference id the user is shown. */
      logger: Pick<Logger, 'info' | 'warn' | 'error'>;
    });

export interface RenderedError {
  code: ErrorCode;
  fixBy: FixBy;
  retryable: boolean;
  /** What this audience is told went wrong, and what to do (redacted). */
  message: string;
  remedy?: string;
  /** Remote only: the id under which the server log has the detail. */
  reference?: string;
  /** The whole text for this audience. */
  text: string;
}

/** Renders any thrown value for `options.audience`; an unplanned one becomes `internal`. */
export function renderError(e: unknown, options: RenderOptions): RenderedError {
  const err = asQindexError(e, options.subject);
  const base = { code: err.code, fixBy: err.fixBy, retryable: err.retryable };
  const message = redact(err.message);
  const remedy = err.remedy === undefined ? undefined : redact(err.remedy);
  const failed = options.subject ? `${options.subject} failed: ` : '';
  if (options.audience === 'cli') {
    // One line: it also closes sentences such as whoami's "Signed out: …".
    const text = [message, remedy, `(code: ${err.code})`].filter(Boolean).join(' ');
    return { ...base, message, ...(remedy ? { remedy } : {}), text };
  }
  if (options.audience !== 'remote') {
    const text = toolText(`${failed}${message}`, remedy, err.retryable, `code: ${err.code}`);
    return { ...base, message, ...(remedy ? { remedy } : {}), text };
  }
  const reference = randomBytes(5).toString('hex');
  const level = err.fixBy === 'user' ? 'info' : err.retryable ? 'warn' : 'error';
  options.logger[level](
    {
      ref: reference,
      code: err.code,
      fixBy: err.fixBy,
      retryable: err.retryable,
      ...(options.subject ? { subject: options.subject } : {}),
      ...(remedy ? { remedy } : {}),
      ...(Object.keys(err.details).length ? { details: redact(err.details) } : {}),
      err: message,
    },
    'error answered to a remote client by reference',
  );
  const tag = `code: ${err.code}, reference: ${reference}`;
  if (err.fixBy === 'user') {
    const text = toolText(`${failed}${message}`, remedy, err.retryable, tag);
    return { ...base, message, ...(remedy ? { remedy } : {}), reference, text };
  }
  // The operator's part (settings, paths, commands, AWS's words) stays in the log.
  const summary = ABOUT[err.code].summary;
  const ask = 'Only the operator of this server can fix this: give them the reference below.';
  const text = toolText(`${failed}${summary}`, ask, err.retryable, tag);
  return { ...base, message: summary, remedy: ask, reference, text };
}

/** "<what failed>\nWhat to do: <remedy>\n<retry advice, once>(<tag>)". */
function toolText(what: string, remedy: string | undefined, retryable: boolean, tag: string): string {
  // A remedy that already says whether to retry is not followed by the same advice again.
  const retry = /\bretry(ing)?\b/i.test(remedy ?? '')
    ? ''
    : `Retrying ${retryable ? 'may help' : 'as-is will not help'}. `;
  return [what, remedy ? `What to do: ${remedy}` : '', `${retry}(${tag})`].filter(Boolean).join('\n');
}

function asQindexError(e: unknown, subject: string | undefined): QindexError {
  if (isQindexError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new QindexError(
    ErrorCode.Internal,
    `${subject ? `The ${subject} tool` : 'The request'} failed unexpectedly: ${redact(message).slice(0, 500)}`,
    { cause: e },
  );
}
