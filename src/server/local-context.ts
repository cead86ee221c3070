/**
 * @module The ToolContext of a local server (stdio, or HTTP without bearer auth): the profile's
 * signed-in user, one credential provider (one identity exchange per session lifetime) and one Q
 * client, built once and shared by every tool call.
 */
import type { QindexConfig } from '../config/schema.js';
import { QindexError } from '../errors.js';
import { openSignIn } from '../auth/index.js';
import { createCredentialProvider } from '../identity/index.js';
import type { Logger } from '../log.js';
import { createQClient } from '../q/client.js';
import type { ToolContext } from '../tools/context.js';

export interface LocalContext extends ToolContext {
  dispose(): void;
}

export function createLocalContext(
  config: QindexConfig,
  deps: { logger: Logger; env?: Record<string, string | undefined> },
): LocalContext {
  const { logger } = deps;
  const signIn = openSignIn(config, { logger, ...(deps.env ? { env: deps.env } : {}) });
  const credentials = createCredentialProvider(config, {
    freshIdToken: () => signIn.freshIdToken(),
    logger,
  });
  const q = createQClient(config, { credentials: credentials as never, logger });
  const login = loginCommand(config.profile);
  return {
    config,
    q,
    logger,
    async user() {
      const info = await signIn.current();
      if (!info) {
        throw new QindexError('not_signed_in', `No one is signed in for profile "${config.profile}".`, {
          remedy: `Run \`${login}\` in a terminal, then call the tool again.`,
        });
      }
      return {
        subject: info.subject,
        issuer: info.issuer,
        ...(info.email ? { email: info.email } : {}),
      };
    },
    dispose: () => q.destroy(),
  };
}

export const loginCommand = (profile: string) =>
  `qindex-mcp login${profile === 'default' ? '' : ` --profile ${profile}`}`;
