/**
 * @module Bearer JWT verification for the HTTP transport: signature against the IdP's JWKS, issuer,
 * audience = this server's resource, expiry and not-before, asymmetric algorithms only (no `none`, no
 * HMAC, so an RSA public key can never be used as an HMAC secret).
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import { timeUpstream } from '../../telemetry/aws.js';
import type { HttpConfig } from '../../config/http.js';
import { discover, requireSecureUrl } from '../../auth/discovery.js';
import { ErrorCode, QindexError } from '../../errors.js';

export interface VerifiedToken {
  /** The raw JWT: used only as the assertion of this user's identity exchange, never forwarded. */
  token: string;
  issuer: string;
  subject: string;
  email: string | undefined;
  claims: JWTPayload;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface BearerVerifierOptions {
  issuer: string;
  audience: string;
  algorithms: string[];
  /** Default: `jwks_uri` of the issuer's discovery document. */
  jwksUri?: string;
  clockToleranceSeconds?: number;
}

export type BearerVerifier = (token: string) => Promise<VerifiedToken>;

/** The token of an Authorization header: RFC 6750 §2.1 `Bearer`, in any case (RFC 9110 §11.1), 1*SP, token. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization ? /^Bearer +(\S+)$/i.exec(authorization)?.[1] : undefined;
}

const invalid = (message: string, cause?: unknown) =>
  new QindexError(ErrorCode.InvalidToken, message, {
    remedy: 'Obtain a new access token for this server from the identity provider.',
    cause,
  });

/** The verifier of a bearer-mode configuration: the one `serve` checks requests with and `doctor` checks. */
export function configuredBearerVerifier(issuer: string, http: HttpConfig): BearerVerifier {
  return createBearerVerifier({
    issuer,
    audience: http.resource ?? '',
    algorithms: http.algorithms,
    ...(http.jwksUri ? { jwksUri: http.jwksUri } : {}),
  });
}

/** How many verified tokens are remembered, and for how long at most. */
const VERIFIED_MAX = 10_000;
const VERIFIED_TTL_MS = 5 * 60_000;

export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  // Keys over plain HTTP could be swapped on the way to mint tokens for anyone (src/auth/discovery.ts).
  requireSecureUrl(options.issuer, 'issuer');
  if (options.jwksUri) requireSecureUrl(options.jwksUri, 'JWKS URI');
  const allowed = options.algorithms.filter((a) => a !== 'none' && !a.startsWith('HS'));
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keySet = () => {
    jwks ??= resolveJwksUri(options).then((uri) =>
      createRemoteJWKSet(new URL(uri), {
        // The IdP's key set, fetched on first use and on an unknown kid: timed as upstream idp jwks.
        [customFetch]: (url: string, init: RequestInit) =>
          timeUpstream('idp', 'jwks', () => fetch(url, init)),
      }),
    );
    // A failed discovery is not cached: the next request tries again.
    jwks.catch(() => (jwks = undefined));
    return jwks;
  };

  const tolerance = options.clockToleranceSeconds ?? 30;
  // A token verified once is the same token on its next request: its signature, issuer and audience
  // cannot have changed, and its expiry is checked on every hit (the cache's TTL ends at exp +
  // tolerance, as jwtVerify would). RSA verification was the server's largest own CPU cost per request.
  // Bounded in size and in time (VERIFIED_TTL_MS), so a key the IdP withdraws stops being honoured soon.
  const verified = new LRUCache<string, VerifiedToken>({ max: VERIFIED_MAX });
  const remember = (v: VerifiedToken) => {
    const ttl = Math.min(VERIFIED_TTL_MS, v.expiresAt + tolerance * 1000 - Date.now());
    if (ttl > 0) verified.set(v.token, v, { ttl });
    return v;
  };

  return async (token) => {
    const hit = verified.get(token);
    if (hit) return hit;
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw invalid('The bearer token is not a JWT.');
    const keys = await keySet();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: allowed,
        requiredClaims: ['exp', 'sub', 'iss', 'aud'],
        clockTolerance: tolerance,
      });
      return remember({
        token,
        issuer: payload.iss!,
        subject: payload.sub!,
        email: typeof payload.email === 'string' ? payload.email : undefined,
        claims: payload,
        expiresAt: payload.exp! * 1000,
      });
    } catch (e) {
      throw mapJoseError(e);
    }
  };
}

/** http.jwksUri, else the jwks_uri of the issuer's discovery document (sign-in's discovery, checked the same way). */
async function resolveJwksUri(options: BearerVerifierOptions): Promise<string> {
  if (options.jwksUri) return options.jwksUri;
  const { jwks_uri: uri } = await discover(options.issuer, { timeoutSeconds: 10 });
  if (!uri) throw unavailable(`The discovery document of ${options.issuer} names no jwks_uri.`);
  return uri;
}

const unavailable = (message: string, cause?: unknown) =>
  new QindexError(ErrorCode.IdpUnavailable, message, {
    remedy: 'Check that the identity provider is reachable from this server.',
    retryable: true,
    cause,
  });

function mapJoseError(e: unknown): QindexError {
  if (e instanceof QindexError) return e;
  if (e instanceof joseErrors.JWTExpired) return invalid('The bearer token has expired.', e);
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    const what: Record<string, string> = {
      aud: 'The bearer token was not issued for this server (audience).',
      iss: 'The bearer token comes from an untrusted issuer.',
      nbf: 'The bearer token is not valid yet.',
    };
    return invalid(what[e.claim] ?? `The bearer token's "${e.claim}" claim is invalid.`, e);
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed)
    return invalid('The bearer token uses a forbidden algorithm.', e);
  if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey)
    return invalid('The bearer token signature does not verify.', e);
  if (e instanceof joseErrors.JWKSTimeout || e instanceof joseErrors.JWKSInvalid)
    return unavailable("Could not fetch the identity provider's signing keys.", e);
  if (e instanceof joseErrors.JOSEError) return invalid('The bearer token is malformed.', e);
  return unavailable("Could not fetch the identity provider's signing keys.", e);
}
