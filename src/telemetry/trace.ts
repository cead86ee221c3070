/**
 * @module Traces through the OpenTelemetry API only: spans appear when the operator's SDK (preloaded with
 * `node --import`, configured by the standard OTEL_* variables) registered a tracer provider, and cost
 * one branch when none did: `@opentelemetry/api` is not even loaded then. Span attributes carry tool and
 * operation names and error codes, never a user, a token or query text.
 */
import type * as Otel from '@opentelemetry/api';

type Api = typeof Otel;
export type SpanAttributes = Record<string, string | number | boolean>;

let api: Api | undefined;

/** Where `@opentelemetry/api` (major 1) keeps the registered providers on globalThis. */
const OTEL_GLOBAL = Symbol.for('opentelemetry.js.api.1');

/**
 * Loads the API when an SDK is registered or OTEL_* variables say one will be (or `force`); once per
 * process. Servers call it as they start, before the first request.
 */
export async function enableTracing(force = false): Promise<boolean> {
  if (api) return true;
  const configured =
    force || OTEL_GLOBAL in globalThis || Object.keys(process.env).some((k) => k.startsWith('OTEL_'));
  if (!configured) return false;
  api = await import('@opentelemetry/api');
  return true;
}

export const tracing = {
  get enabled() {
    return api !== undefined;
  },
};

const tracer = (a: Api) => a.trace.getTracer('qindex-mcp');

/** The code an error carries (QindexError, AWS SDK name): what a span may say about a failure. */
export function errorType(e: unknown): string {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const name = (e as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : 'error';
}

/** Runs `fn` in a child span of the active one (or just runs it when tracing is off). */
export function inSpan<T>(name: string, attributes: SpanAttributes, fn: () => Promise<T>): Promise<T> {
  const a = api;
  if (!a) return fn();
  return tracer(a).startActiveSpan(name, { attributes }, (span) => settle(a, span, fn));
}

/**
 * The span of one HTTP request, child of the client's W3C `traceparent` when it sent one: the
 * registered propagator reads it (and tracestate) when the SDK set one up, else it is parsed here.
 */
export function inRequestSpan<T>(
  headers: Record<string, string | string[] | undefined>,
  name: string,
  attributes: SpanAttributes,
  fn: () => Promise<T>,
): Promise<T> {
  const a = api;
  if (!a) return fn();
  let parent = a.propagation.extract(a.ROOT_CONTEXT, headers);
  if (!a.trace.getSpanContext(parent)) {
    const remote = parseTraceparent(headers.traceparent);
    if (remote) parent = a.trace.setSpanContext(a.ROOT_CONTEXT, { ...remote, isRemote: true });
  }
  return tracer(a).startActiveSpan(name, { kind: a.SpanKind.SERVER, attributes }, parent, (span) =>
    settle(a, span, fn),
  );
}

/** Adds attributes to the active span (e.g. the JSON-RPC method once the body is read). */
export function annotateSpan(attributes: SpanAttributes): void {
  api?.trace.getActiveSpan()?.setAttributes(attributes);
}

/** Marks the active span failed with `code`, for failures answered as results rather than thrown. */
export function failSpan(code: string): void {
  const a = api;
  const span = a?.trace.getActiveSpan();
  if (!a || !span) return;
  span.setAttribute('error.type', code);
  span.setStatus({ code: a.SpanStatusCode.ERROR });
}

async function settle<T>(a: Api, span: Otel.Span, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // The code only: messages can quote what the user asked.
    span.setAttribute('error.type', errorType(e));
    span.setStatus({ code: a.SpanStatusCode.ERROR });
    throw e;
  } finally {
    span.end();
  }
}

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(?:-.*)?$/;

/** W3C Trace Context §3.2: version 00 (or a later one read as 00), non-zero ids. */
export function parseTraceparent(
  value: string | string[] | undefined,
): { traceId: string; spanId: string; traceFlags: number } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = TRACEPARENT.exec(value.trim());
  if (!m || m[1] === 'ff' || (m[1] === '00' && value.trim().length !== 55)) return undefined;
  const [, , traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, spanId, traceFlags: parseInt(flags, 16) & 1 };
}
