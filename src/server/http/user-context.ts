/**
 * @module Builds one bearer-mode user's ToolContext: their own identity exchange (the bearer token is the
 * assertion, exchanged at IdC for identity-aware AWS credentials; never forwarded as-is), optionally
 * shared across replicas through Redis, and their own Q client.
 */
import type { QindexConfig } from '../../config/schema.js';
import { createCredentialProvider, type CredentialProvider } from '../../identity/index.js';
import type { Logger } from '../../log.js';
import { ErrorCode, QindexError } from '../../errors.js';
import { createQClient, type QClientDeps } from '../../q/client.js';
import type { ToolContext } from '../../tools/context.js';
import type { SharedCredentialCache } from './shared-cache.js';
import type { UserIdentity } from './user-cache.js';

export interface UserContext {
  context: ToolContext;
  /** The credential provider the Q client uses; the HTTP layer warms it before a tool call. */
  credentials: CredentialProvider;
  dispose(): void;
}

export type UserContextFactory = (
  config: QindexConfig,
  identity: UserIdentity,
  key: string,
  latestToken: () => string,
) => UserContext;

/**
 * Who the user's current credentials act for: the subject and issuer of the cache key, and the email of
 * the assertion they were exchanged with (IdC matched that email to its user), not of a later token.
 */
async function actingUser(identity: UserIdentity, credentials: CredentialProvider) {
  if (!credentials.identity?.()) await credentials();
  const email = credentials.identity?.()?.email;
  return { subject: identity.subject, issuer: identity.issuer, ...(email ? { email } : {}) };
}

export function createUserContextFactory(deps: {
  logger: Logger;
  shared?: SharedCredentialCache;
  /** The Q connection pool every user's client shares. */
  requestHandler?: QClientDeps['requestHandler'];
  baseCredentials?: Parameters<typeof createCredentialProvider>[1]['baseCredentials'];
  /** OAuth mode: a fresh upstream ID token for the grant named in the user's newest access token. */
  freshIdToken?: (latestToken: string) => Promise<string>;
}): UserContextFactory {
  return (config, identity, key, latestToken) => {
    // The key is a hash: logs can correlate a user's calls without naming them.
    const logger = deps.logger.child({ user: key.slice(0, 12) });
    // In bearer mode the "fresh ID token" is the newest token the user presented. It cannot be refreshed
    // here, and an assertion is never replayed (design.md, single-use assertions): handing out the same
    // token twice is refused as reused, which the HTTP layer answers with 401 invalid_token.
    let handedOut: string | undefined;
    const upstream = deps.freshIdToken;
    const bearerIdToken = async () => {
      const token = latestToken();
      if (token === handedOut) {
        throw new QindexError(
          ErrorCode.AssertionReused,
          'This bearer token was already used for a credential exchange.',
          {
            remedy: 'Present a fresh access token.',
          },
        );
      }
      handedOut = token;
      return token;
    };
    const freshIdToken = upstream ? () => upstream(latestToken()) : bearerIdToken;
    const exchange = createCredentialProvider(config, {
      freshIdToken,
      logger,
      // With Redis, the shared cache's memoizer is the one the user's calls meet.
      cacheMetrics: !deps.shared,
      ...(deps.baseCredentials ? { baseCredentials: deps.baseCredentials } : {}),
    });
    const credentials: CredentialProvider = deps.shared ? deps.shared.wrap(key, exchange) : exchange;
    const q = createQClient(config, {
      credentials,
      logger,
      ...(deps.requestHandler ? { requestHandler: deps.requestHandler } : {}),
    });
    const context: ToolContext = {
      config,
      q,
      logger,
      user: () => actingUser(identity, credentials),
    };
    return { context, credentials, dispose: () => q.destroy() };
  };
}
