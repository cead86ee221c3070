/**
 * @module The audit trail: one JSON line per tool call saying who (tenant, a hash of the user, the OAuth
 * client) used which tool when, how it ended and the Q request id; never the arguments (query text) or
 * results unless the operator opted in (`http.audit.includeQueries`). To stderr or appended to a file.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { redact } from '../errors.js';

export interface AuditRecord {
  tenant?: string | undefined;
  /** Non-reversible hash of issuer, subject and tenant (the HTTP server's user key). */
  user?: string | undefined;
  /** The OAuth client the bearer token was issued to (azp / client_id). */
  client?: string | undefined;
  tool: string;
  /** 'ok' or the error code. */
  outcome: string;
  qRequestId?: string | undefined;
  ms: number;
  /** Present only when the operator opted in. */
  arguments?: unknown;
}

/**
 * The one hash naming a user without their identifiers: the HTTP server's cache key and the audit's
 * `user`. An operator who knows a subject computes it to find that user's lines.
 */
export function subjectHash(issuer: string, subject: string, tenant: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([issuer, subject, tenant ?? null]))
    .digest('base64url');
}

export interface AuditSink {
  readonly includeQueries: boolean;
  write(record: AuditRecord): void;
  close(): void;
}

export interface AuditOptions {
  /** Appended to (created 0600); default stderr. */
  file?: string | undefined;
  includeQueries?: boolean | undefined;
}

export function createAuditSink(options: AuditOptions = {}): AuditSink {
  const fd = options.file ? openSync(options.file, 'a', 0o600) : 2;
  const includeQueries = options.includeQueries === true;
  let open = true;
  return {
    includeQueries,
    write(record) {
      if (!open) return;
      const { arguments: args, ...fields } = record;
      const line = {
        time: new Date().toISOString(),
        audit: 'tool_call',
        ...fields,
        // Opted-in arguments still lose anything shaped like a token or key.
        ...(includeQueries && args !== undefined ? { arguments: redact(args) } : {}),
      };
      // Synchronous: an audit line is written before the answer it records leaves, even on a crash.
      writeSync(fd, `${JSON.stringify(line)}\n`);
    },
    close() {
      if (open && fd !== 2) closeSync(fd);
      open = false;
    },
  };
}

let processSink: AuditSink | undefined;

/** The sink of requests that no server scope names (stdio); replaced by each call. */
export function setProcessAudit(sink: AuditSink | undefined): void {
  processSink = sink;
}
export const processAudit = (): AuditSink | undefined => processSink;
