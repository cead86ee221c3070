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

/** A sign-in started from inside the server (device flow): where the user goes, and its outcome. */
export interface PendingLogin {
  /** The IdP page that completes the sign-in (device verification URL with the user code). */
  url: string;
  /** The code to show the user even though `url` carries it: the IdP's page asks them to check it (RFC 8628 §3.3.1). */
  userCode: string;
  /** Settles when the user finished (or the flow failed, expired or was aborted). */
  completed: Promise<unknown>;
}

/** Who is calling, as the telemetry may name them (no identifiers: a hash of the user). */
export interface ToolCaller {
  /** The configured tenant (key of `http.tenants`). */
  tenant?: string;
  /** subjectHash(issuer, subject, tenant): the HTTP server's user key. */
  user?: string;
  /** The OAuth client the token was issued to (azp or client_id claim). */
  client?: string;
}

export interface ToolContext {
  config: QindexConfig;
  q: QClient;
  /** The signed-in user; rejects with a QindexError (`not_signed_in`, `login_expired`) when there is none. */
  user: () => Promise<ToolUser>;
  logger: Logger;
  /**
   * Who reads this context's errors: `remote` for a bearer-HTTP user, who never reads the operator's
   * instructions (they go to the log under a reference id); absent: a client on this machine.
   */
  audience?: 'local' | 'remote';
  /**
   * Starts an in-band sign-in (local servers only): offered to clients that support URL elicitation
   * when a tool fails because nobody is signed in.
   */
  startLogin?: (signal: AbortSignal) => Promise<PendingLogin>;
  /** Bearer mode: the caller of this request, for metrics and the audit line. */
  caller?: ToolCaller;
}
