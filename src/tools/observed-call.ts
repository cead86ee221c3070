/**
 * @module The telemetry of one tool call, around the wrapper in define-tool.ts: a span, the
 * `qindex_tool_calls_total` count and latency by tool, tenant and outcome code, and the audit line
 * (who, which tool, when, how it ended, the Q request id). Skipped entirely while all of it is off.
 */
import { processAudit, subjectHash } from '../telemetry/audit.js';
import { metrics } from '../telemetry/metrics.js';
import { currentScope, inCallScope } from '../telemetry/scope.js';
import { failSpan, inSpan, tracing } from '../telemetry/trace.js';
import type { ToolContext } from './context.js';

/** Whether a call needs observing: metrics, tracing, or an audit sink (the server's or the process's). */
export const callTelemetryOn = (): boolean =>
  metrics.enabled || tracing.enabled || currentScope() !== undefined || processAudit() !== undefined;

/** Runs `invoke` (the wrapper's own call, which never throws) observed. */
export function observedCall<R>(
  def: { name: string },
  ctx: ToolContext,
  params: unknown,
  invoke: () => Promise<{ result: R; outcome: string }>,
): Promise<R> {
  return inCallScope(async (scope) => {
    const started = performance.now();
    const { result, outcome } = await inSpan(
      `tools/call ${def.name}`,
      { 'mcp.tool.name': def.name },
      async () => {
        const done = await invoke();
        // The wrapper answers failures as results; the span still says which code ended the call.
        if (done.outcome !== 'ok') failSpan(done.outcome);
        return done;
      },
    );
    const seconds = (performance.now() - started) / 1000;
    const caller = ctx.caller;
    metrics.toolCall(def.name, caller?.tenant ?? 'default', outcome, seconds);
    const sink = scope.audit ?? processAudit();
    if (sink) {
      sink.write({
        tenant: caller?.tenant,
        user: caller?.user ?? (await localUser(ctx)),
        client: caller?.client,
        tool: def.name,
        outcome,
        qRequestId: scope.qRequestId,
        ms: Math.round(seconds * 1000),
        ...(sink.includeQueries ? { arguments: params } : {}),
      });
    }
    return result;
  });
}

/** A server on this machine serves its profile's user: the same hash, read from the sign-in. */
async function localUser(ctx: ToolContext): Promise<string | undefined> {
  try {
    const user = await ctx.user();
    return subjectHash(user.issuer, user.subject, undefined);
  } catch {
    return undefined;
  }
}
