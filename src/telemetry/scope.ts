/**
 * @module The telemetry of the request and the tool call in progress, found through async context: the
 * audit sink of the server that took the request, and the Q request id the SDK middleware (aws.ts) saw
 * for the call, without threading either through every layer. Used only while telemetry is on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AuditSink } from './audit.js';

export interface RequestScope {
  /** Where this server writes its audit lines; undefined: the process default (stdio's). */
  audit?: AuditSink;
}

export interface CallScope extends RequestScope {
  /** The last Amazon Q request id of this tool call (AWS support finds the call by it). */
  qRequestId?: string;
}

const storage = new AsyncLocalStorage<CallScope>();

export const currentScope = (): CallScope | undefined => storage.getStore();

/** Runs a request with its server's telemetry. */
export function inRequestScope<T>(scope: RequestScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Runs one tool call in a scope of its own (a batch runs several at once), inheriting the request's. */
export function inCallScope<T>(fn: (call: CallScope) => Promise<T>): Promise<T> {
  const call: CallScope = { ...storage.getStore() };
  return storage.run(call, () => fn(call));
}

/** Called by the SDK middleware for every Q response or error. */
export function noteQRequestId(id: string | undefined): void {
  if (!id) return;
  const call = storage.getStore();
  if (call) call.qRequestId = id;
}
