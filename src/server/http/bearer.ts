/**
 * @module Bearer JWT verification for the HTTP transport: signature against the IdP's JWKS, issuer,
 * audience = this server's resource, expiry and not-before, asymmetric algorithms only (no `none`, no
 * HMAC, so an RSA public key can never be used as an HMAC secret).
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { isLoopback } from '../../config/loopback.js';
import { QindexError } from '../../errors.js';

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
  new QindexError('invalid_token', message, {
    remedy: 'Obtain a new access token for this server from the identity provider.',
    cause,
  });

/**
 * Signing keys fetched over plain HTTP could be swapped on the way, and then anyone could mint tokens for
 * any user or tenant: https only, except for a loopback test IdP (as sign-in's own rule, src/auth/oidc.ts).
 */
function requireHttps(url: string, what: string): void {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'https:' || (protocol === 'http:' && isLoopback(hostname))) return;
  throw new QindexError('insecure_issuer', `The ${what} ${url} does not use https.`, {
    remedy:
      'Use https:// URLs for idp.issuer and http.jwksUri (plain HTTP only for a loopback test IdP: localhost, 127.0.0.0/8, [::1]).',
  });
}

export function createBearerVerifier(options: BearerVerifierOptions): BearerVerifier {
  requireHttps(options.issuer, 'issuer');
  if (options.jwksUri) requireHttps(options.jwksUri, 'JWKS URI');
  const allowed = options.algorithms.filter((a) => a !== 'none' && !a.startsWith('HS'));
  let jwks: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keySet = () => {
    jwks ??= resolveJwksUri(options).then((uri) => createRemoteJWKSet(new URL(uri)));
    // A failed discovery is not cached: the next request tries again.
    jwks.catch(() => (jwks = undefined));
    return jwks;
  };

  return async (token) => {
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw invalid('The bearer token is not a JWT.');
    const keys = await keySet();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: allowed,
        requiredClaims: ['exp', 'sub', 'iss', 'aud'],
        clockTolerance: options.clockToleranceSeconds ?? 30,
      });
      return {
        token,
        issuer: payload.iss!,
        subject: payload.sub!,
        email: typeof payload.email === 'string' ? payload.email : undefined,
        claims: payload,
        expiresAt: payload.exp! * 1000,
      };
    } catch (e) {
      throw mapJoseError(e);
    }
  };
}

async function resolveJwksUri(options: BearerVerifierOptions): Promise<string> {
  if (options.jwksUri) return options.jwksUri;
  const url = `${options.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (e) {
    throw unavailable(`Could not reach the identity provider's discovery document at ${url}.`, e);
  }
  if (!response.ok)
    throw unavailable(`The identity provider's discovery document answered ${response.status}.`);
  const doc = (await response.json()) as { jwks_uri?: unknown };
  if (typeof doc.jwks_uri !== 'string')
    throw unavailable(`The discovery document at ${url} names no jwks_uri.`);
  requireHttps(doc.jwks_uri, 'JWKS URI in the discovery document');
  return doc.jwks_uri;
}

const unavailable = (message: string, cause?: unknown) =>
  new QindexError('idp_unavailable', message, {
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
