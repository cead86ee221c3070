/**
 * @module The one AWS SDK middleware for telemetry, added once to each client (Q, STS, sso-oidc): times
 * every call per service and operation, makes it a span, and notes the Q request id for the audit line.
 * Passes straight through while metrics, tracing and the audit are all off.
 */
import { metrics, type Upstream } from './metrics.js';
import { currentScope, noteQRequestId } from './scope.js';
import { inSpan, tracing } from './trace.js';

interface Metadata {
  $metadata?: { requestId?: string };
}
type Next = (args: unknown) => Promise<{ output?: Metadata }>;
interface Stack {
  middlewareStack: {
    add(
      middleware: (next: Next, context: { commandName?: string }) => Next,
      options: { step: 'initialize'; name: string; override?: boolean },
    ): void;
  };
}

/** Adds the middleware to `client` (structurally typed: any SDK v3 client) and returns it. */
export function instrumentAwsClient<C>(client: C, service: Exclude<Upstream, 'idp'>): C {
  (client as unknown as Stack).middlewareStack.add(
    (next, context) => (args) => {
      if (!metrics.enabled && !tracing.enabled && !currentScope()) return next(args);
      const operation = context.commandName?.replace(/Command$/, '') ?? 'unknown';
      const started = performance.now();
      const done = (outcome: 'ok' | 'error', meta: Metadata | undefined) => {
        metrics.upstream(service, operation, outcome, (performance.now() - started) / 1000);
        if (service === 'q') noteQRequestId(meta?.$metadata?.requestId);
      };
      return inSpan(
        `${service} ${operation}`,
        { 'rpc.system': 'aws-api', 'rpc.service': service, 'rpc.method': operation },
        async () => {
          try {
            const out = await next(args);
            done('ok', out.output);
            return out;
          } catch (e) {
            done('error', e as Metadata);
            throw e;
          }
        },
      );
    },
    { step: 'initialize', name: 'qindexTelemetry', override: true },
  );
  return client;
}

/** Times a call to a service without an SDK client (the IdP's token and JWKS endpoints). */
export async function timeUpstream<T>(
  service: Upstream,
  operation: string,
  fn: () => Promise<T>,
): Promise<T> {
  if (!metrics.enabled && !tracing.enabled) return fn();
  const started = performance.now();
  return inSpan(`${service} ${operation}`, { 'rpc.service': service, 'rpc.method': operation }, async () => {
    let outcome: 'ok' | 'error' = 'error';
    try {
      const result = await fn();
      outcome = 'ok';
      return result;
    } finally {
      metrics.upstream(service, operation, outcome, (performance.now() - started) / 1000);
    }
  });
}
