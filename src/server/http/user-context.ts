/**
 * @module Builds one bearer-mode user's ToolContext: their own identity exchange (the bearer token is the
 * assertion, exchanged at IdC for identity-aware AWS credentials; never forwarded as-is), optionally
 * shared across replicas through Redis, and their own Q client.
 */
import type { QindexConfig } from '../../config/schema.js';
import { createCredentialProvider } from '../../identity/index.js';
import type { Logger } from '../../log.js';
import { createQClient } from '../../q/client.js';
import type { ToolContext } from '../../tools/context.js';
import type { CredentialProvider, SharedCredentialCache } from './shared-cache.js';
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

export function createUserContextFactory(deps: {
  logger: Logger;
  shared?: SharedCredentialCache;
  baseCredentials?: Parameters<typeof createCredentialProvider>[1]['baseCredentials'];
}): UserContextFactory {
  return (config, identity, key, latestToken) => {
    // The key is a hash: logs can correlate a user's calls without naming them.
    const logger = deps.logger.child({ user: key.slice(0, 12) });
    const exchange = createCredentialProvider(config, {
      // In bearer mode the "fresh ID token" is the newest token the user presented; it cannot be
      // refreshed here, so a reused-assertion refusal goes back to the client as 401 invalid_token.
      freshIdToken: async () => latestToken(),
      logger,
      ...(deps.baseCredentials ? { baseCredentials: deps.baseCredentials } : {}),
    });
    const credentials: CredentialProvider = deps.shared
      ? deps.shared.wrap(key, exchange as CredentialProvider)
      : (exchange as CredentialProvider);
    const q = createQClient(config, { credentials: credentials as never, logger });
    const context: ToolContext = {
      config,
      q,
      logger,
      user: async () => ({
        subject: identity.subject,
        issuer: identity.issuer,
        ...(identity.email ? { email: identity.email } : {}),
      }),
    };
    return { context, credentials, dispose: () => q.destroy() };
  };
}
