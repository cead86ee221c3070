/**
 * Traces with an in-process OpenTelemetry SDK registered the way an operator's `--import` preload would
 * (global tracer provider and AsyncLocalStorage context manager): a bearer-mode request joins the
 * client's W3C traceparent, and its span has children for the sign-in refresh, each exchange step with
 * its AWS call, and the tool call with its Q call; span attributes carry no user, token or query text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  TracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { parseTraceparent } from '../../src/telemetry/trace.js';
import { bearerConfig, connect, search, startBearerServer } from './harness.js';

const sandbox = useSandbox();
const exporter = new InMemorySpanExporter();
let server: HttpServerHandle;
const CANARY = `canary-query-${randomBytes(6).toString('hex')}`;

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(
    new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
  );
  server = await startBearerServer(
    sandbox(),
    bearerConfig(sandbox(), 'data-accessor', { http: { stateless: true } }),
  );
});
afterAll(async () => {
  await server?.close();
  trace.disable();
  context.disable();
});

const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

/** The client's fetch, sending `traceparent` on every request as an instrumented client would. */
const withTraceparent =
  (traceparent: string) =>
  (url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    headers.set('traceparent', traceparent);
    return fetch(url, { ...init, headers });
  };

describe('traces', () => {
  it('makes a span tree under the client traceparent: request, refresh, exchange steps, tool, Q', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const d = sandbox().description;
    const token = await controlClient(d.control).mintAccessToken({
      username: 'alice',
      clientId: d.clients.isv,
    });
    const { client } = await connect(server.url, token, {
      fetch: withTraceparent(`00-${traceId}-${clientSpan}-01`),
    });
    expect((await search(client, CANARY)).isError).toBe(false);
    await client.close();

    const spans = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const named = (name: string) => spans.filter((s) => s.name === name);
    // Every request of the session is a server span whose parent is the client's span.
    const requests = named('POST /mcp');
    expect(requests.length).toBeGreaterThanOrEqual(2);
    for (const r of requests) expect(parentOf(r)).toBe(clientSpan);

    const [tool] = named('tools/call search_relevant_content');
    expect(tool).toBeDefined();
    const toolRequest = requests.find((r) => r.spanContext().spanId === parentOf(tool!));
    expect(toolRequest).toBeDefined();
    const [q] = named('q SearchRelevantContent');
    expect(parentOf(q!)).toBe(tool!.spanContext().spanId);
    expect(q!.attributes['rpc.service']).toBe('q');

    // The exchange ran before the tool, in the same request: refresh, then each step with its AWS call.
    const [refresh] = named('sign-in refresh');
    expect(parentOf(refresh!)).toBe(toolRequest!.spanContext().spanId);
    const steps = spans.filter((s) => s.name.startsWith('exchange '));
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const step of steps) expect(parentOf(step)).toBe(toolRequest!.spanContext().spanId);
    const [idc] = named('sso-oidc CreateTokenWithIAM');
    expect(steps.map((s) => s.spanContext().spanId)).toContain(parentOf(idc!));
    const assumes = named('sts AssumeRole');
    expect(assumes.length).toBe(2);
    for (const a of assumes) expect(steps.map((s) => s.spanContext().spanId)).toContain(parentOf(a));

    const everything = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes })));
    for (const secret of [CANARY, token, 'alice']) expect(everything).not.toContain(secret);
  });

  it('starts a new trace when the traceparent is absent or malformed', async () => {
    exporter.reset();
    const d = sandbox().description;
    const token = await controlClient(d.control).mintAccessToken({
      username: 'bob',
      clientId: d.clients.isv,
    });
    const { client } = await connect(server.url, token, {
      fetch: withTraceparent(`00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`),
    });
    await search(client, 'policy');
    await client.close();
    const requests = exporter.getFinishedSpans().filter((s) => s.name === 'POST /mcp');
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) {
      expect(r.parentSpanContext).toBeUndefined();
      expect(r.spanContext().traceId).not.toBe('0'.repeat(32));
    }
  });

  it('reads W3C traceparent as the spec says', () => {
    const id = 'a'.repeat(32);
    const span = 'b'.repeat(16);
    expect(parseTraceparent(`00-${id}-${span}-01`)).toEqual({ traceId: id, spanId: span, traceFlags: 1 });
    expect(parseTraceparent(`00-${id}-${span}-00`)?.traceFlags).toBe(0);
    expect(parseTraceparent(`01-${id}-${span}-01-future`)).toBeDefined();
    for (const bad of [
      `ff-${id}-${span}-01`,
      `00-${id}-${span}-01-x`,
      `00-${id.toUpperCase()}-${span}-01`,
      'junk',
      undefined,
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
    }
  });
});
