/**
 * @module The one OpenID Connect discovery: sign-in (oidc.ts builds openid-client's Configuration from it)
 * and the bearer verifier (its jwks_uri) read the issuer's document through `discover`. Sending and
 * checking are separate steps (`checkDiscovery` is pure), and the plain-HTTP rule for every IdP URL is
 * here once: https, or http to a loopback test IdP.
 */
import type { ServerMetadata } from 'openid-client';
import { isLoopback } from '../config/loopback.js';
import { ErrorCode, QindexError } from '../errors.js';
import { idpFetch } from './http.js';
import { networkCode } from './network.js';
import { timeUpstream } from '../telemetry/aws.js';

export type { ServerMetadata } from 'openid-client';

export const discoveryUrl = (issuer: string) =>
  `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;

/**
 * Keys or tokens over plain HTTP could be swapped or read on the way, and then anyone could mint tokens
 * for any user: IdP URLs are https, except a loopback test IdP's (config/loopback.ts).
 */
export function requireSecureUrl(url: string, what: string): void {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'https:' || (protocol === 'http:' && isLoopback(hostname))) return;
  throw new QindexError(ErrorCode.InsecureIssuer, `The ${what} ${url} does not use https.`, {
    remedy:
      'Use https:// URLs for idp.issuer and http.jwksUri (plain HTTP is allowed only for loopback test IdPs: localhost, 127.0.0.0/8, [::1]).',
    details: { url },
  });
}

/** The document's URLs this product calls or hands to a browser. */
const URL_FIELDS = [
  'jwks_uri',
  'token_endpoint',
  'authorization_endpoint',
  'device_authorization_endpoint',
  'revocation_endpoint',
] as const;

/** Checks a discovery response (RFC 8414 §3.3, OpenID Discovery §4.3) for `issuer`; returns its metadata. */
export function checkDiscovery(issuer: string, response: { status: number; body: unknown }): ServerMetadata {
  const url = discoveryUrl(issuer);
  const { status, body } = response;
  if (status !== 200) {
    const busy = status >= 500 || status === 429;
    throw new QindexError(
      busy ? ErrorCode.IdpUnavailable : ErrorCode.IdpDiscoveryFailed,
      `The identity provider at ${url} answered HTTP ${status}.`,
      {
        remedy: busy
          ? 'Try again later.'
          : `Check idp.issuer: ${issuer} ${status === 404 ? 'has no OpenID discovery document' : 'must serve OpenID Connect discovery'}.`,
        retryable: busy,
        details: { url, status },
      },
    );
  }
  const problem = (what: string) =>
    new QindexError(ErrorCode.IdpDiscoveryFailed, `The discovery document at ${url} ${what}.`, {
      remedy: `Check idp.issuer: ${issuer} must serve its own OpenID Connect discovery document at ${url}.`,
      details: { url },
    });
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw problem('is not a JSON object');
  const doc = body as Record<string, unknown>;
  // A document pointing at plain-HTTP keys is refused whatever else it says: that is the dangerous part.
  for (const field of URL_FIELDS) {
    const value = doc[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !URL.canParse(value)) throw problem(`has a ${field} that is not a URL`);
    requireSecureUrl(value, `${field} in the discovery document`);
  }
  if (typeof doc.issuer !== 'string' || !URL.canParse(doc.issuer)) throw problem('names no issuer');
  // The same comparison as openid-client's: `https://idp` and `https://idp/` are one issuer.
  if (new URL(doc.issuer).href !== new URL(issuer).href)
    throw problem(`names issuer ${doc.issuer}, not ${issuer} (a mix-up or a wrong idp.issuer)`);
  return doc as unknown as ServerMetadata;
}

export interface DiscoverOptions {
  /** Give up after this long; default 15 s. */
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

/** Fetches and checks `issuer`'s discovery document. Nothing is cached here: callers keep what succeeded. */
export async function discover(issuer: string, options: DiscoverOptions = {}): Promise<ServerMetadata> {
  requireSecureUrl(issuer, 'issuer');
  const url = discoveryUrl(issuer);
  const seconds = options.timeoutSeconds ?? 15;
  const timeout = AbortSignal.timeout(seconds * 1000);
  let status: number;
  let body: unknown;
  try {
    const response = await timeUpstream('idp', 'discovery', () =>
      idpFetch(url, {
        headers: { accept: 'application/json' },
        // A redirect elsewhere is not this issuer's document.
        redirect: 'manual',
        signal: options.signal ? AbortSignal.any([options.signal, timeout]) : timeout,
      }),
    );
    status = response.status;
    body = await response.json().catch(() => undefined);
  } catch (e) {
    throw unreachable(issuer, url, e, timeout.aborted ? `no answer within ${seconds} s` : networkCode(e));
  }
  return checkDiscovery(issuer, { status, body });
}

function unreachable(issuer: string, url: string, cause: unknown, why: string | undefined): QindexError {
  const said = why ?? (cause instanceof Error ? cause.message : String(cause));
  return new QindexError(
    ErrorCode.IdpUnavailable,
    `Cannot reach the identity provider at ${url} (${said}).`,
    {
      remedy: `Check the network and that idp.issuer (${issuer}) is right.`,
      retryable: true,
      cause,
      details: { url },
    },
  );
}
