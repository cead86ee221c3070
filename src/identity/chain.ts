/**
 * @module What the identity modes share: the AWS clients (built once per provider, in the right
 * regions, pointed at aws.endpoint), the named step runner that maps errors and reports progress,
 * and small readers for ID-token claims, identity contexts and STS credentials.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { STSClient, type Credentials as StsCredentials } from '@aws-sdk/client-sts';
import { SSOOIDCClient, type CreateTokenWithIAMResponse } from '@aws-sdk/client-sso-oidc';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { decodeJwt } from 'jose';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import type { QindexConfig } from '../config/schema.js';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError, isQindexError } from '../errors.js';
import type { Logger } from '../log.js';
import { instrumentAwsClient } from '../telemetry/aws.js';
import { inSpan } from '../telemetry/trace.js';
import { loginExpired, toIdentityError, type ExchangeStep } from './errors.js';

export const IDENTITY_CENTER_CONTEXT_PROVIDER = 'arn:aws:iam::aws:contextProvider/IdentityCenter';
export const DATA_ACCESSOR_EXTERNAL_ID_TAG = 'qbusiness-dataaccessor:ExternalId';
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Bounded: the SDK's standard retry (exponential backoff with jitter) handles throttling and 5xx. */
const MAX_ATTEMPTS = 3;

export type BaseCredentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** One step of an exchange as observed by `doctor` (and logs): which call, and how it went. */
export interface StepEvent {
  step: ExchangeStep | 'sign-in: fresh ID token';
  ok: boolean;
  error?: QindexError;
}

export interface ChainDeps {
  config: QindexConfig;
  logger: Logger;
  freshIdToken: () => Promise<string>;
  onStep?: (event: StepEvent) => void;
}

/** Claims read (not verified) from an ID token, for messages, session names and `identity()`. */
export interface TokenClaims {
  iss?: string;
  aud?: string | string[];
  sub?: string;
  email?: string;
}

/**
 * Clients signed with the app's (or ISV's) own credentials carry nothing of the user, so every
 * provider built from the same configuration and base credentials shares them: an HTTP server with
 * many users keeps one connection pool, not one per user.
 */
const shared = new WeakMap<QindexConfig, WeakMap<object, Map<string, unknown>>>();
const DEFAULT_CHAIN = {};

function sharedFor<T>(
  config: QindexConfig,
  base: BaseCredentials | undefined,
  key: string,
  make: () => T,
): T {
  let byBase = shared.get(config);
  if (!byBase) shared.set(config, (byBase = new WeakMap()));
  const owner = base ?? DEFAULT_CHAIN;
  let clients = byBase.get(owner);
  if (!clients) byBase.set(owner, (clients = new Map()));
  if (!clients.has(key)) clients.set(key, make());
  return clients.get(key) as T;
}

/** The base credentials: those given, else the SDK default chain (aws.profile honoured), built once. */
export function baseCredentialsProvider(config: QindexConfig, base?: BaseCredentials): BaseCredentials {
  return (
    base ??
    sharedFor(config, undefined, 'default-chain', () =>
      fromNodeProviderChain(config.aws.profile ? { profile: config.aws.profile } : {}),
    )
  );
}

const endpoint = (config: QindexConfig) => (config.aws.endpoint ? { endpoint: config.aws.endpoint } : {});

/** STS: role sessions are used against Q, so it is addressed in the Q region. */
export function createStsClient(config: QindexConfig, credentials?: BaseCredentials): STSClient {
  const client = new STSClient({
    region: config.q.region,
    maxAttempts: MAX_ATTEMPTS,
    ...endpoint(config),
    ...(credentials ? { credentials } : {}),
  });
  return instrumentAwsClient(client, 'sts');
}

/** STS signed with the base credentials, shared (see above); without `signed`, for unsigned calls. */
export function sharedStsClient(
  config: QindexConfig,
  base: BaseCredentials | undefined,
  signed = true,
): STSClient {
  if (!signed) return sharedFor(config, undefined, 'sts-unsigned', () => createStsClient(config));
  return sharedFor(config, base, 'sts', () => createStsClient(config, baseCredentialsProvider(config, base)));
}

/** sso-oidc lives in the IAM Identity Center region, which may differ from the Q region. */
export function createSsoOidcClient(
  config: QindexConfig,
  idcRegion: string,
  credentials: BaseCredentials,
): SSOOIDCClient {
  const client = new SSOOIDCClient({
    region: idcRegion,
    maxAttempts: MAX_ATTEMPTS,
    ...endpoint(config),
    credentials,
  });
  return instrumentAwsClient(client, 'sso-oidc');
}

export function sharedSsoOidcClient(
  config: QindexConfig,
  idcRegion: string,
  base: BaseCredentials | undefined,
): SSOOIDCClient {
  return sharedFor(config, base, `sso-oidc:${idcRegion}`, () =>
    createSsoOidcClient(config, idcRegion, baseCredentialsProvider(config, base)),
  );
}

/** The credentials of the call a per-call-signed client is sending (see `perCallSsoOidcClient`). */
const callCredentials = new AsyncLocalStorage<AwsCredentialIdentity>();

/**
 * Credentials for an SDK client shared by many callers: `current` names the calling request's own. Marked
 * `memoized` so the SDK asks on every request instead of caching an earlier call's answer; with no
 * current caller it refuses (`outside`) rather than sign with anyone's keys.
 */
export function perCallCredentials(
  current: () => Promise<AwsCredentialIdentity> | undefined,
  outside: string,
): (() => Promise<AwsCredentialIdentity>) & { memoized: true } {
  return Object.assign(() => current() ?? Promise.reject(new Error(outside)), { memoized: true as const });
}

const signedWithCredentials = perCallCredentials(() => {
  const credentials = callCredentials.getStore();
  return credentials && Promise.resolve(credentials);
}, 'no per-call credentials: call inside signedWith()');

/** Runs `send` with `credentials` signing the per-call-signed clients' requests it makes. */
export function signedWith<T>(credentials: AwsCredentialIdentity, send: () => Promise<T>): Promise<T> {
  return callCredentials.run(credentials, send);
}

/**
 * sso-oidc signed per call (`signedWith`), one per configuration and region: data-accessor signs each
 * user's CreateTokenWithIAM with that user's own tagged session, and a client per user cost each cached
 * user an SDK client, its HTTP agent and a kept-alive socket.
 */
export function perCallSsoOidcClient(config: QindexConfig, idcRegion: string): SSOOIDCClient {
  return sharedFor(config, undefined, `sso-oidc-per-call:${idcRegion}`, () =>
    createSsoOidcClient(config, idcRegion, signedWithCredentials),
  );
}

/** Runs one named call: reports it, and turns any failure into a typed QindexError. */
export async function runStep<T>(
  deps: ChainDeps,
  step: ExchangeStep,
  claims: TokenClaims | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    const result = await inSpan(`exchange ${step}`, { 'qindex.exchange.step': step }, fn);
    deps.onStep?.({ step, ok: true });
    return result;
  } catch (e) {
    const error = toIdentityError(e, { config: deps.config, step, claims });
    deps.logger.debug({ step, code: error.code }, 'identity exchange step failed');
    deps.onStep?.({ step, ok: false, error });
    throw error;
  }
}

/** A brand-new ID token from sign-in for one exchange (never a replayed one). */
export async function freshToken(deps: ChainDeps): Promise<{ token: string; claims: TokenClaims }> {
  const step = 'sign-in: fresh ID token' as const;
  try {
    const token = await inSpan('sign-in refresh', { 'qindex.exchange.step': step }, deps.freshIdToken);
    deps.onStep?.({ step, ok: true });
    return { token, claims: claimsOf(token) };
  } catch (e) {
    const error = isQindexError(e)
      ? e
      : /invalid_grant/i.test(`${(e as { error?: string }).error ?? ''} ${(e as Error).message ?? ''}`)
        ? loginExpired(deps.config.profile, e)
        : new QindexError(
            ErrorCode.SignInFailed,
            `Could not get a fresh ID token: ${(e as Error).message ?? e}.`,
            {
              cause: e,
              remedy: `Run \`${commandLine('doctor')}\`; if the sign-in is the problem, run \`${commandLine('login', { profile: deps.config.profile })}\`.`,
            },
          );
    deps.onStep?.({ step, ok: false, error });
    throw error;
  }
}

/** The payload of a JWT, read without verification (it came over TLS from the IdP or from AWS). */
export function decodeJwtPayload(token: string): Record<string, unknown> | undefined {
  try {
    return decodeJwt(token);
  } catch {
    return undefined;
  }
}

export function claimsOf(token: string): TokenClaims {
  const p = decodeJwtPayload(token) ?? {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const aud = Array.isArray(p.aud) ? p.aud.filter((a): a is string => typeof a === 'string') : str(p.aud);
  return { iss: str(p.iss), aud, sub: str(p.sub), email: str(p.email) };
}

/** The identity context of a CreateTokenWithIAM answer: the idToken claim, else awsAdditionalDetails. */
export function identityContextOf(response: CreateTokenWithIAMResponse): string | undefined {
  const fromToken = response.idToken
    ? decodeJwtPayload(response.idToken)?.['sts:identity_context']
    : undefined;
  if (typeof fromToken === 'string' && fromToken) return fromToken;
  return response.awsAdditionalDetails?.identityContext || undefined;
}

export function requireIdentityContext(response: CreateTokenWithIAMResponse): string {
  const context = identityContextOf(response);
  if (!context) {
    throw new QindexError(
      ErrorCode.ExchangeFailed,
      'CreateTokenWithIAM answered without an identity context (no sts:identity_context claim).',
      {
        remedy:
          'An IAM Identity Center administrator should check that the application is enabled for trusted identity propagation.',
      },
    );
  }
  return context;
}

export function toCredentials(c: StsCredentials | undefined, step: ExchangeStep): AwsCredentialIdentity {
  if (!c?.AccessKeyId || !c.SecretAccessKey) {
    throw new QindexError(ErrorCode.ExchangeFailed, `${step} answered without credentials.`, {
      remedy: `Run \`${commandLine('doctor')}\`.`,
    });
  }
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    ...(c.Expiration ? { expiration: c.Expiration } : {}),
  };
}

/** A RoleSessionName that says who the session is for (shows in CloudTrail), within STS's rules. */
export function sessionName(claims: TokenClaims | undefined): string {
  const who = (claims?.email ?? claims?.sub ?? 'user').replace(/[^\w+=,.@-]/g, '-');
  return `qindex-mcp-${who}`.slice(0, 64);
}
