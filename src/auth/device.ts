/**
 * @module Device authorization grant (RFC 8628), the login for machines without a browser. Starting it
 * returns what to show (verification URL, user code, how long the wait lasts) as data, and the outcome
 * as a promise that polls at the server's interval (slowing down when told) until approval, denial,
 * expiry, the time limit or the caller's signal. The CLI prints the start; the server elicits its URL.
 */
import * as client from 'openid-client';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError } from '../errors.js';
import { deadline } from './abort.js';
import { oidcError, type Oidc } from './oidc.js';
import { toTokenSet, type TokenSet } from './tokens.js';

export interface DeviceLoginOptions {
  signal?: AbortSignal;
  /** Give up after this many seconds (capped by the device code's own lifetime). Default 600. */
  timeoutSeconds?: number;
  profile?: string;
}

/** A started device sign-in: what the person needs, and its outcome. */
export interface DeviceLoginStart<T = TokenSet> {
  /** The page where the person enters `userCode`. */
  verificationUri: string;
  /** The same page with the code filled in, when the IdP offers one (a link, a QR code, an elicitation). */
  verificationUriComplete?: string;
  userCode: string;
  /** Seconds this sign-in waits for approval: the code's lifetime or the time limit, whichever is shorter. */
  expiresIn: number;
  /** Which of the two bounds `expiresIn`. */
  boundBy: 'code' | 'timeout';
  /** The sign-in once approved; rejects on denial, expiry, the time limit or the signal. Never unhandled. */
  completed: Promise<T>;
}

export async function startDeviceLogin(
  oidc: Oidc,
  options: DeviceLoginOptions = {},
): Promise<DeviceLoginStart> {
  const configuration = await oidc.configuration();
  const metadata = configuration.serverMetadata();
  const ctx = { issuer: oidc.issuer, clientId: oidc.clientId, profile: options.profile };
  if (!metadata.device_authorization_endpoint) {
    throw new QindexError(
      ErrorCode.DeviceUnsupported,
      `The IdP at ${oidc.issuer} does not offer the device authorization grant.`,
      {
        remedy: `Use \`${commandLine('login', { browser: true })}\`.`,
      },
    );
  }
  let started: client.DeviceAuthorizationResponse;
  try {
    started = await client.initiateDeviceAuthorization(configuration, { scope: oidc.scopes.join(' ') });
  } catch (e) {
    throw oidcError(e, { ...ctx, action: 'device', url: metadata.device_authorization_endpoint });
  }
  const timeout = options.timeoutSeconds ?? 600;
  const limit = Math.min(timeout, started.expires_in);
  const wait = deadline(limit, options.signal, 'device sign-in');
  const completed = (async () => {
    try {
      const response = await Promise.race([
        client.pollDeviceAuthorizationGrant(configuration, started, undefined, { signal: wait.signal }),
        wait.aborted,
      ]);
      return await toTokenSet(oidc, response, { requireRefreshToken: true });
    } catch (e) {
      if (wait.signal.aborted) throw wait.signal.reason;
      throw oidcError(e, { ...ctx, action: 'token', url: metadata.token_endpoint ?? oidc.issuer });
    } finally {
      wait.dispose();
    }
  })();
  // A caller that stops caring (an elicitation declined) must not leave an unhandled rejection behind.
  completed.catch(() => undefined);
  return {
    verificationUri: started.verification_uri,
    ...(started.verification_uri_complete
      ? { verificationUriComplete: started.verification_uri_complete }
      : {}),
    userCode: started.user_code,
    expiresIn: limit,
    boundBy: timeout < started.expires_in ? 'timeout' : 'code',
    completed,
  };
}
