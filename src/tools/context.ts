/**
 * @module What every tool gets from the server: the configuration, the Q client (built once per
 * server, with the credential provider inside), who the user is, and a logger. Secrets stay in here;
 * tools never take or return tokens or keys.
 */
import type { QindexConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { QClient } from '../q/client.js';

export interface ToolUser {
  subject: string;
  email?: string;
  issuer: string;
}

export interface ToolContext {
  config: QindexConfig;
  q: QClient;
  /** The signed-in user; rejects with a QindexError (`not_signed_in`, `login_expired`) when there is none. */
  user: () => Promise<ToolUser>;
  logger: Logger;
}
