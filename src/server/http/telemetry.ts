/**
 * @module The HTTP server's telemetry, started and stopped with it: the audit sink its tool calls write
 * to, a span per request (child of the client's traceparent), response counts by status, the gauges
 * read from its state, and the Prometheus `/metrics` listener on its own port (`http.metricsPort`,
 * loopback `http.metricsHost` by default), apart from the MCP endpoint and its authentication.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpConfig } from '../../config/http.js';
import type { Logger } from '../../log.js';
import { createAuditSink } from '../../telemetry/audit.js';
import { enableMetrics, metrics, type MetricsRegistry } from '../../telemetry/metrics.js';
import { inRequestScope, type RequestScope } from '../../telemetry/scope.js';
import { enableTracing, inRequestSpan, tracing } from '../../telemetry/trace.js';
import { pathOf } from './stages/request.js';

export interface HttpTelemetry {
  /** Runs the handling of one request observed. */
  request(req: IncomingMessage, res: ServerResponse, handle: () => Promise<void>): Promise<void>;
  /** `http://host:port/metrics` when the listener is on. */
  metricsUrl: string | undefined;
  close(): Promise<void>;
}

/** What the gauges read. */
export interface ObservedState {
  sessions: { readonly size: number };
  users: { readonly size: number };
  inFlight: { readonly count: number };
}

export async function startHttpTelemetry(
  http: HttpConfig,
  state: ObservedState,
  logger: Logger,
): Promise<HttpTelemetry> {
  await enableTracing();
  const audit = http.audit.enabled
    ? createAuditSink({ file: http.audit.file, includeQueries: http.audit.includeQueries })
    : undefined;
  const scope: RequestScope = audit ? { audit } : {};
  const removals = [
    metrics.gauge('sessions', () => state.sessions.size),
    metrics.gauge('cached_users', () => state.users.size),
    metrics.gauge('in_flight', () => state.inFlight.count),
  ];
  let listener: Server | undefined;
  let metricsUrl: string | undefined;
  if (http.metricsPort !== undefined) {
    const registry = await enableMetrics();
    listener = await listen(registry, http.metricsHost, http.metricsPort);
    const { port } = listener.address() as AddressInfo;
    const host = http.metricsHost.includes(':') ? `[${http.metricsHost}]` : http.metricsHost;
    metricsUrl = `http://${host}:${port}/metrics`;
    logger.info({ url: metricsUrl }, 'metrics listening');
  }
  const observed = audit !== undefined || metrics.enabled || tracing.enabled;

  return {
    metricsUrl,
    request(req, res, handle) {
      if (!observed) return handle();
      if (metrics.enabled) res.once('finish', () => metrics.httpResponse(res.statusCode));
      // A bounded span name: the endpoint's path, or "other" for the 404s.
      const path = pathOf(req);
      const route = path === http.path || path === '/healthz' ? path : 'other';
      return inRequestScope(scope, () =>
        inRequestSpan(
          req.headers,
          `${req.method ?? 'GET'} ${route}`,
          { 'http.request.method': req.method ?? 'GET', 'url.path': route },
          handle,
        ),
      );
    },
    async close() {
      for (const remove of removals) remove();
      audit?.close();
      if (listener) {
        const l = listener;
        await new Promise<void>((resolve) => l.close(() => resolve()));
        l.closeAllConnections();
      }
    },
  };
}

/** The listener: GET /metrics and nothing else, no authentication (it binds loopback unless told). */
async function listen(registry: MetricsRegistry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    if (pathOf(req) !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    registry.text().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
