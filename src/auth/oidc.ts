/**
 * @module The IdP connection: discovery (discovery.ts) into an openid-client `Configuration` (once per
 * sign-in, failures not cached), the IdP's JWKS for ID token checks, and the one place OAuth/network
 * failures become QindexErrors that name the URL and say what to do. Plain HTTP only for loopback issuers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as client from 'openid-client';
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError } from '../errors.js';
import type { IdpConfig } from '../config/schema.js';
import { discover, discoveryUrl as discoveryUrlOf, requireSecureUrl } from './discovery.js';
import { idpFetch } from './http.js';
import { networkCode } from './network.js';

export interface Oidc {
  issuer: string;
  clientId: string;
  scopes: string[];
  discoveryUrl: string;
  configuration(): Promise<client.Configuration>;
  /** Keys for ID token signatures, fetched from the discovered `jwks_uri` (cached, refetched on a new kid). */
  keys(): Promise<JWTVerifyGetKey>;
  /**
   * Starts fetching the JWKS, if not yet loaded, so that it overlaps the token request whose ID token it
   * checks (the check then waits on this same fetch); a failure is left for the check to meet.
   */
  prefetchKeys(): void;
  /** Algorithms the IdP may sign ID tokens with, restricted to asymmetric ones. */
  algorithms(): Promise<string[]>;
}

const ASYMMETRIC = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

export function createOidc(idp: IdpConfig, options: { timeoutSeconds?: number } = {}): Oidc {
  requireSecureUrl(idp.issuer, 'issuer');
  const insecure = new URL(idp.issuer).protocol === 'http:';
  const discoveryUrl = discoveryUrlOf(idp.issuer);
  const timeout = options.timeoutSeconds ?? 15;
  let pending: Promise<client.Configuration> | undefined;
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  const configuration = () => {
    pending ??= discover(idp.issuer, { timeoutSeconds: timeout })
      .then((metadata) => {
        const c = new client.Configuration(
          metadata,
          idp.clientId,
          idp.clientSecret ? { client_secret: idp.clientSecret } : undefined,
          idp.clientSecret ? undefined : client.None(),
        );
        if (insecure) client.allowInsecureRequests(c);
        c.timeout = timeout;
        c[client.customFetch] = tappingFetch;
        return c;
      })
      .catch((e: unknown) => {
        pending = undefined;
        throw e;
      });
    return pending;
  };

  const keys = async () => {
    if (jwks) return jwks;
    const uri = (await configuration()).serverMetadata().jwks_uri;
    if (!uri)
      throw new QindexError(ErrorCode.IdpDiscoveryFailed, `The IdP at ${idp.issuer} publishes no jwks_uri.`);
    jwks = createRemoteJWKSet(new URL(uri), { timeoutDuration: 10_000, [customFetch]: idpFetch });
    return jwks;
  };

  return {
    issuer: idp.issuer,
    clientId: idp.clientId,
    scopes: idp.scopes,
    discoveryUrl,
    configuration,
    keys,
    prefetchKeys() {
      // Loaded already, or a fetch under way: nothing to start.
      if (jwks?.jwks() || jwks?.reloading) return;
      void keys()
        .then((k) => k.reload())
        .catch(() => undefined);
    },
    async algorithms() {
      const offered = (await configuration()).serverMetadata().id_token_signing_alg_values_supported;
      const allowed = (offered ?? ['RS256']).filter((a) => ASYMMETRIC.includes(a));
      return allowed.length ? allowed : ['RS256'];
    },
  };
}

/** Sees the JSON body of a successful token endpoint response before openid-client checks it. */
export type TokenTap = (body: Record<string, unknown>) => Promise<void>;

const taps = new AsyncLocalStorage<TokenTap>();

/**
 * Runs `fn` (one token request) so that `tap` gets the response body the moment it arrives: a rotated
 * refresh token is the only copy of the login once the IdP has answered, so it must be kept even when a
 * check of the rest of the response (an ID token claim, a clock skew) then fails.
 */
export const withTokenTap = <T>(tap: TokenTap, fn: () => Promise<T>): Promise<T> => taps.run(tap, fn);

const tappingFetch: client.CustomFetch = async (url, init) => {
  const response = await idpFetch(url, init as RequestInit);
  const tap = taps.getStore();
  if (!tap || !response.ok) return response;
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined; // openid-client reports the malformed body
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) await tap(body as Record<string, unknown>);
  return new Response(text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
};

export interface ErrorContext {
  action: 'refresh' | 'device' | 'authorization' | 'token' | 'revocation';
  url: string;
  issuer: string;
  clientId: string;
  profile?: string;
}

/** Turns an openid-client/fetch failure into a QindexError; messages carry URLs and OAuth error codes, never tokens. */
export function oidcError(e: unknown, ctx: ErrorContext): QindexError {
  if (e instanceof QindexError) return e;
  const login = `\`${commandLine('login', { profile: ctx.profile })}\``;
  if (e instanceof client.ResponseBodyError) {
    const said = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
    if (e.error === 'invalid_grant' && ctx.action === 'refresh') {
      return new QindexError(
        ErrorCode.LoginExpired,
        `The sign-in for profile "${ctx.profile ?? 'default'}" has expired or was revoked at ${ctx.issuer} (${said}).`,
        {
          remedy: `Sign in again with ${login}.`,
          cause: e,
        },
      );
    }
    if (e.error === 'invalid_client' || e.error === 'unauthorized_client') {
      return new QindexError(
        ErrorCode.WrongClient,
        `The IdP at ${ctx.issuer} does not accept client id "${ctx.clientId}" (${said}).`,
        {
          remedy:
            'Check idp.clientId (and idp.clientSecret for a confidential client) against the app registered at the IdP.',
          cause: e,
        },
      );
    }
    if (e.error === 'access_denied') {
      return new QindexError(ErrorCode.LoginDenied, `The sign-in was denied at ${ctx.issuer} (${said}).`, {
        remedy: `Run ${login} again and approve it.`,
        cause: e,
      });
    }
    if (e.error === 'expired_token') {
      return new QindexError(
        ErrorCode.LoginTimeout,
        'The device code expired before the sign-in was approved.',
        {
          remedy: `Run ${login} again and approve it sooner.`,
          cause: e,
        },
      );
    }
    if (e.error === 'invalid_scope') {
      return new QindexError(
        ErrorCode.InvalidScope,
        `The IdP at ${ctx.issuer} refused the requested scopes (${said}).`,
        { remedy: 'Check idp.scopes.', cause: e },
      );
    }
    return new QindexError(ErrorCode.IdpError, `The IdP answered ${e.status} at ${ctx.url} (${said}).`, {
      retryable: e.status >= 500 || e.status === 429,
      cause: e,
    });
  }
  const code = networkCode(e);
  if (code) {
    return new QindexError(
      ErrorCode.IdpUnavailable,
      `Cannot reach the identity provider at ${ctx.url} (${code}).`,
      {
        remedy: `Check the network and that idp.issuer (${ctx.issuer}) is right.`,
        retryable: true,
        cause: e,
      },
    );
  }
  if (e instanceof client.ClientError && e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    const status = (e.cause as Response | undefined)?.status;
    return new QindexError(
      ErrorCode.IdpUnavailable,
      `The identity provider at ${ctx.url} answered HTTP ${status ?? '?'}.`,
      {
        remedy: 'Try again later.',
        retryable: status === undefined || status >= 500 || status === 429,
        cause: e,
      },
    );
  }
  if (e instanceof client.ClientError && (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT')) {
    return new QindexError(
      ErrorCode.IdpUnavailable,
      `The identity provider at ${ctx.url} did not answer in time.`,
      {
        retryable: true,
        cause: e,
      },
    );
  }
  if (e instanceof client.ClientError && /JWT|CLAIM|JSON_ATTRIBUTE/.test(e.code ?? '')) {
    return new QindexError(
      ErrorCode.IdTokenInvalid,
      `The IdP's response from ${ctx.url} failed validation (${e.message}).`,
      { cause: e },
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  return new QindexError(ErrorCode.IdpError, `The sign-in request to ${ctx.url} failed: ${message}`, {
    cause: e,
  });
}
