/**
 * @module The product's metrics: one facade every layer records into, a no-op until `enableMetrics()`
 * loads prom-client (only a server with `http.metricsPort` does, so stdio never loads it), and the one
 * place the `qindex_` metrics are defined. Labels are bounded sets (tool names, configured tenants, error
 * codes, SDK operation names, HTTP statuses): never a user, a token or query text.
 */
import type * as PromClient from 'prom-client';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Upstream services whose calls are timed: Amazon Q, STS, IAM Identity Center OIDC, the IdP. */
export type Upstream = 'q' | 'sts' | 'sso-oidc' | 'idp';
/** 'ok', or the error code (src/errors.ts ErrorCode) the call ended with. */
export type Outcome = string;
export type CredentialCacheEvent = 'hit' | 'miss' | 'eviction';
export type SharedCacheEvent = 'hit' | 'miss' | 'lock_wait' | 'fallback';
/** Gauges read when scraped, summed over every source (a process may run more than one server). */
export type GaugeName = 'sessions' | 'in_flight' | 'cached_users';

export interface MetricsSink {
  toolCall(tool: string, tenant: string, outcome: Outcome, seconds: number): void;
  upstream(service: Upstream, operation: string, outcome: 'ok' | 'error', seconds: number): void;
  exchange(outcome: Outcome): void;
  credentialCache(event: CredentialCacheEvent): void;
  sharedCache(event: SharedCacheEvent): void;
  httpResponse(status: number): void;
}

const NOOP: MetricsSink = {
  toolCall() {},
  upstream() {},
  exchange() {},
  credentialCache() {},
  sharedCache() {},
  httpResponse() {},
};

let sink: MetricsSink = NOOP;
const sources = new Map<GaugeName, Set<() => number>>();

/** Records into prom-client once enabled; costs a property read and a call before. */
export const metrics: MetricsSink & {
  readonly enabled: boolean;
  /** A gauge's source, read at scrape time; returns its removal. */
  gauge(name: GaugeName, read: () => number): () => void;
} = {
  get enabled() {
    return sink !== NOOP;
  },
  toolCall: (tool, tenant, outcome, seconds) => sink.toolCall(tool, tenant, outcome, seconds),
  upstream: (service, operation, outcome, seconds) => sink.upstream(service, operation, outcome, seconds),
  exchange: (outcome) => sink.exchange(outcome),
  credentialCache: (event) => sink.credentialCache(event),
  sharedCache: (event) => sink.sharedCache(event),
  httpResponse: (status) => sink.httpResponse(status),
  gauge(name, read) {
    let set = sources.get(name);
    if (!set) sources.set(name, (set = new Set()));
    set.add(read);
    return () => set.delete(read);
  },
};

export interface MetricsRegistry {
  contentType: string;
  text(): Promise<string>;
}

let enabling: Promise<MetricsRegistry> | undefined;

/** Loads prom-client and starts recording; once per process (later calls share the registry). */
export function enableMetrics(): Promise<MetricsRegistry> {
  enabling ??= (async () => {
    const prom = await import('prom-client');
    const registry = new prom.Registry();
    prom.collectDefaultMetrics({ register: registry, prefix: 'qindex_' });
    const live = define(prom, registry);
    sink = live;
    return { contentType: registry.contentType, text: () => registry.metrics() };
  })();
  return enabling;
}

type Prom = typeof PromClient;

/** Seconds: tool calls and upstream calls span a few ms (cached emulator) to a minute (chat). */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

function define(prom: Prom, registry: Registry): MetricsSink {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> =>
    new prom.Counter({ name: `qindex_${name}`, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: L[]): Histogram<L> =>
    new prom.Histogram({ name: `qindex_${name}`, help, labelNames, buckets: BUCKETS, registers });
  const gauge = (name: GaugeName, help: string): Gauge =>
    new prom.Gauge({
      name: `qindex_${name}`,
      help,
      registers,
      collect() {
        let sum = 0;
        for (const read of sources.get(name) ?? []) sum += read();
        this.set(sum);
      },
    });

  const toolCalls = counter('tool_calls_total', 'Tool calls by tool, tenant and outcome code', [
    'tool',
    'tenant',
    'outcome',
  ]);
  const toolSeconds = histogram('tool_call_duration_seconds', 'Tool call latency', ['tool']);
  const upstreamSeconds = histogram(
    'upstream_duration_seconds',
    'Upstream call latency by service (q, sts, sso-oidc, idp) and operation',
    ['service', 'operation', 'outcome'],
  );
  const exchanges = counter('identity_exchanges_total', 'Identity exchanges by outcome code', ['outcome']);
  const credentialCache = counter(
    'credential_cache_events_total',
    'Credential cache hits, misses and evictions',
    ['event'],
  );
  const sharedCache = counter(
    'shared_cache_events_total',
    'Shared (Redis) credential cache hits, misses, lock waits and fallbacks to an own exchange',
    ['event'],
  );
  const responses = counter('http_responses_total', 'HTTP responses by status (401, 403, 413, 429, …)', [
    'status',
  ]);
  gauge('sessions', 'Open MCP sessions');
  gauge('in_flight', 'Requests in flight');
  gauge('cached_users', 'Users whose credentials are cached (credential cache size)');

  return {
    toolCall(tool, tenant, outcome, seconds) {
      toolCalls.inc({ tool, tenant, outcome });
      toolSeconds.observe({ tool }, seconds);
    },
    upstream(service, operation, outcome, seconds) {
      upstreamSeconds.observe({ service, operation, outcome }, seconds);
    },
    exchange: (outcome) => exchanges.inc({ outcome }),
    credentialCache: (event) => credentialCache.inc({ event }),
    sharedCache: (event) => sharedCache.inc({ event }),
    httpResponse: (status) => responses.inc({ status: String(status) }),
  };
}
