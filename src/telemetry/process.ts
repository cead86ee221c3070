/**
 * @module Telemetry of a process that serves stdio: spans when an OpenTelemetry SDK is registered, and
 * the audit trail in a file when `http.audit.file` names one (stderr would mix it with the logs of a
 * client's one user). Loads nothing when neither is configured, so it costs the cold start nothing.
 */
import { createAuditSink, setProcessAudit, type AuditOptions } from './audit.js';
import { enableTracing } from './trace.js';

export async function startProcessTelemetry(
  audit: (AuditOptions & { enabled?: boolean }) | undefined,
): Promise<void> {
  await enableTracing();
  if (audit?.file && audit.enabled !== false) setProcessAudit(createAuditSink(audit));
}
