/**
 * @module The ToolContext of a local server (stdio, or HTTP without bearer auth): the profile's
 * signed-in user, one credential provider (one identity exchange per session lifetime) and one Q
 * client, built once and shared by every tool call.
 */
import type { QindexConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { createQClient } from '../q/client.js';
import type { ToolContext } from '../tools/context.js';
import { createLocalIdentity } from './local-identity.js';

export { loginCommand } from './local-identity.js';

export interface LocalContext extends ToolContext {
  dispose(): void;
}

export function createLocalContext(
  config: QindexConfig,
  deps: { logger: Logger; env?: Record<string, string | undefined> },
): LocalContext {
  const { logger } = deps;
  const { credentials, user, startLogin } = createLocalIdentity(config, deps);
  const q = createQClient(config, { credentials, logger });
  return { config, q, logger, user, startLogin, dispose: () => q.destroy() };
}
