/**
 * @module The refresh-token grant: a new, validated ID token every call (never a cached one: AWS may refuse
 * a reused assertion). When the IdP rotates, the new refresh token goes to `onRotated` the moment the
 * response arrives, before anything is checked: the old one is spent from then on. An IdP that rate-limits
 * (429) or is briefly unavailable (503) is asked again within a bounded time, honouring Retry-After. A dead
 * refresh token becomes `login_expired` with the command that fixes it.
 */
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { ErrorCode, QindexError } from '../errors.js';
import { oidcError, withTokenTap, type Oidc } from './oidc.js';
import { refreshExpiry, toTokenSet, type TokenSet } from './tokens.js';
import { timeUpstream } from '../telemetry/aws.js';

export interface RotatedToken {
  refreshToken: string;
  expiresAt?: string;
  scope?: string;
  /** Read from the ID token before it is validated: for the stored entry's display fields only. */
  subject?: string;
  email?: string;
}

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  /** The most time spent waiting between attempts, in ms; a longer Retry-After gives up at once. */
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  maxWaitMs: 10_000,
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface RefreshOptions {
  /** Persists the rotated refresh token; the grant fails (the token is reported lost) if this throws. */
  onRotated?: (rotated: RotatedToken) => Promise<void>;
  retry?: Partial<RetryPolicy>;
}

export async function refreshGrant(
  oidc: Oidc,
  refreshToken: string,
  profile: string,
  options: RefreshOptions = {},
): Promise<TokenSet> {
  const configuration = await oidc.configuration();
  const url = configuration.serverMetadata().token_endpoint ?? oidc.issuer;
  // The first refresh of a process also loads the keys its ID token is checked with: in parallel.
  oidc.prefetchKeys();
  const policy = { ...DEFAULT_RETRY, ...options.retry };
  const tap = async (body: Record<string, unknown>) => {
    const rotated = rotatedToken(body, refreshToken);
    if (rotated) await options.onRotated?.(rotated);
  };
  let waited = 0;
  for (let attempt = 1; ; attempt++) {
    let response: client.TokenEndpointResponse;
    try {
      response = await timeUpstream('idp', 'refresh', () =>
        withTokenTap(tap, () => client.refreshTokenGrant(configuration, refreshToken)),
      );
    } catch (e) {
      const busy = busyAnswer(e);
      if (!busy) {
        throw oidcError(e, { action: 'refresh', url, issuer: oidc.issuer, clientId: oidc.clientId, profile });
      }
      const wait = busy.retryAfterMs ?? backoffMs(attempt);
      if (attempt >= policy.attempts || waited + wait > policy.maxWaitMs) {
        throw gaveUp(busy, { url, attempts: attempt, waited, wait });
      }
      await policy.sleep(wait);
      waited += wait;
      continue;
    }
    return toTokenSet(oidc, response, { requireRefreshToken: false });
  }
}

function rotatedToken(body: Record<string, unknown>, presented: string): RotatedToken | undefined {
  const refreshToken = body.refresh_token;
  if (typeof refreshToken !== 'string' || !refreshToken || refreshToken === presented) return undefined;
  let claims: Record<string, unknown> = {};
  try {
    if (typeof body.id_token === 'string') claims = decodeJwt(body.id_token);
  } catch {
    // validated (and reported) later
  }
  const text = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    refreshToken,
    expiresAt: refreshExpiry(body.refresh_token_expires_in),
    scope: text(body.scope),
    subject: text(claims.sub),
    email: text(claims.email),
  };
}

interface Busy {
  status: 429 | 503;
  said?: string;
  retryAfterMs?: number;
}

/** A 429 or 503 from the token endpoint: the IdP did not look at the grant, so asking again is safe. */
function busyAnswer(e: unknown): Busy | undefined {
  let response: Response | undefined;
  let said: string | undefined;
  if (e instanceof client.ResponseBodyError) {
    response = e.response;
    said = e.error_description ? `${e.error}: ${e.error_description}` : e.error;
  } else if (e instanceof client.ClientError && e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') {
    response = e.cause instanceof Response ? e.cause : undefined;
  }
  const status = response?.status;
  if (status !== 429 && status !== 503) return undefined;
  return { status, said, retryAfterMs: retryAfterMs(response!.headers.get('retry-after')) };
}

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from now; undefined if absent. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  // IMF-fixdate, RFC 850 and asctime all start with a day name; Date.parse reads all three.
  const at = /^[A-Za-z]{3}/.test(v) ? Date.parse(v) : NaN;
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** 0.5 s, 1 s, 2 s … with ±25 % jitter, when the IdP does not say how long to wait. */
const backoffMs = (attempt: number) => Math.round(500 * 2 ** (attempt - 1) * (0.75 + Math.random() / 2));

function gaveUp(
  busy: Busy,
  at: { url: string; attempts: number; waited: number; wait: number },
): QindexError {
  const tries = `${at.attempts} refresh attempt${at.attempts === 1 ? '' : 's'} over ${(at.waited / 1000).toFixed(1)} s`;
  const more = busy.retryAfterMs !== undefined ? ` and asks to wait ${Math.ceil(at.wait / 1000)} s more` : '';
  const said = busy.said ? ` (${busy.said})` : '';
  if (busy.status === 429) {
    return new QindexError(
      ErrorCode.Throttled,
      `The identity provider at ${at.url} is rate-limiting sign-in: it answered HTTP 429${said} to ${tries}${more}.`,
      { remedy: 'Retry in a minute; the login is kept.', retryable: true },
    );
  }
  return new QindexError(
    ErrorCode.IdpUnavailable,
    `The identity provider at ${at.url} answered HTTP 503${said} to ${tries}${more}.`,
    { remedy: 'Try again later; the login is kept.', retryable: true },
  );
}
