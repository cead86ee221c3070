/**
 * One user's upstream concurrency is bounded whatever the shape of their traffic: every request of a
 * JSON-RPC batch takes a request slot of its own (MCP 2025-03-26 clients may batch; 2025-06-18 removed
 * batches, so those are refused with a clear error), and Q calls that outlive their HTTP request (a
 * client that hangs up) still count against the user. Asserted on the sandbox's peak of that user's Q
 * calls in flight, never on time.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { bearerConfig, initializeBody, post, startBearerServer } from './harness.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const token = (username: string) =>
  control().mintAccessToken({ username, clientId: sandbox().description.clients.isv });
const servers: HttpServerHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await control().reset();
});

const SEARCH = 'qbusiness:SearchRelevantContent';
const peakOf = async (username: string) =>
  (await control().counters())[`qbusiness:peakInFlight:${username}@example.com`] ?? 0;
const inFlightOf = async (username: string) =>
  (await control().counters())[`qbusiness:inFlight:${username}@example.com`] ?? 0;

const toolCall = (id: number, query = 'vpn') => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'search_relevant_content', arguments: { query } },
});
const batch = (first: number, n: number) => Array.from({ length: n }, (_, i) => toolCall(first + i));

/** The JSON-RPC messages of a response, whether sent as JSON or as an SSE stream. */
async function messagesOf(
  res: Response,
): Promise<Array<{ id?: unknown; result?: unknown; error?: unknown }>> {
  const text = await res.text();
  if (!(res.headers.get('content-type') ?? '').includes('event-stream')) {
    const body = JSON.parse(text) as unknown;
    return (Array.isArray(body) ? body : [body]) as never;
  }
  return text
    .split('\n')
    .filter((l) => l.startsWith('data: '))
    .map((l) => JSON.parse(l.slice(6)) as never);
}

async function until(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((r) => setTimeout(r, 20));
}

describe('HTTP transport, per-user upstream concurrency', () => {
  it("counts every request of a batch against the user's limit: 8 batches of 4 never run more than 4 searches at once", async () => {
    const limit = 4;
    const server = await startBearerServer(
      sandbox(),
      bearerConfig(sandbox(), 'data-accessor', {
        http: { stateless: true, limits: { maxConcurrentPerUser: limit } },
      }),
    );
    servers.push(server);
    const auth = { authorization: `Bearer ${await token('alice')}`, 'mcp-protocol-version': '2025-03-26' };
    // Exchange first, so that the burst below is made of Q calls only.
    expect((await post(server.url, toolCall(1), auth)).status).toBe(200);
    await control().setFault(SEARCH, { latencyMs: 300 });

    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const res = await post(server.url, batch(100 * (i + 1), limit), auth);
        return { status: res.status, messages: await messagesOf(res) };
      }),
    );
    const served = answers.filter((a) => a.status === 200);
    expect(served.length).toBeGreaterThan(0);
    // An admitted batch is served whole: no request of it fails for lack of upstream capacity.
    for (const a of served) {
      const ok = a.messages.filter((m) => m.result && !(m.result as { isError?: boolean }).isError);
      expect(ok.length, JSON.stringify(a.messages)).toBe(limit);
    }
    for (const a of answers.filter((x) => x.status !== 200)) expect(a.status).toBe(429);
    const peak = await peakOf('alice');
    expect(peak).toBeGreaterThan(0);
    expect(peak, 'searches of one user in flight at once').toBeLessThanOrEqual(limit);
  });

  it('refuses a batch larger than the limit, and any batch under MCP 2025-06-18 or later, naming why', async () => {
    const server = await startBearerServer(
      sandbox(),
      bearerConfig(sandbox(), 'data-accessor', { http: { limits: { maxConcurrentPerUser: 4 } } }),
    );
    servers.push(server);
    const authorization = `Bearer ${await token('alice')}`;
    const init = await post(server.url, initializeBody, { authorization });
    expect(init.status).toBe(200);
    const session = { authorization, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    await init.text();
    await post(
      server.url,
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { ...session, 'mcp-protocol-version': '2025-06-18' },
    );

    const old = { ...session, 'mcp-protocol-version': '2025-03-26' };
    const tooBig = await post(server.url, batch(10, 5), old);
    expect(tooBig.status).toBe(400);
    expect(await tooBig.json()).toMatchObject({
      error: { code: -32600, message: expect.stringMatching(/batch of 5 .*maxConcurrentPerUser \(4\)/) },
    });

    const current = await post(server.url, batch(20, 2), {
      ...session,
      'mcp-protocol-version': '2025-06-18',
    });
    expect(current.status).toBe(400);
    expect(await current.json()).toMatchObject({
      error: { code: -32600, message: expect.stringMatching(/batches are not part of MCP 2025-06-18/) },
    });

    // A 2025-03-26 client's batch within the limit is served, one answer per request.
    const fine = await post(server.url, batch(30, 2), old);
    expect(fine.status).toBe(200);
    const answers = await messagesOf(fine);
    expect(answers.map((m) => m.id).sort()).toEqual([30, 31]);
    expect(answers.every((m) => m.result)).toBe(true);
  });

  it('bounds Q calls that outlive their HTTP request: hanging up does not free upstream capacity', async () => {
    const limit = 2;
    const server = await startBearerServer(
      sandbox(),
      bearerConfig(sandbox(), 'data-accessor', { http: { limits: { maxConcurrentPerUser: limit } } }),
    );
    servers.push(server);
    const authorization = `Bearer ${await token('alice')}`;
    const init = await post(server.url, initializeBody, { authorization });
    const session = {
      authorization,
      'mcp-session-id': init.headers.get('mcp-session-id')!,
      'mcp-protocol-version': '2025-06-18',
    };
    await init.text();
    await post(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    expect((await post(server.url, toolCall(1), session)).status).toBe(200);

    // Two calls reach Q, then their client hangs up: the session lives on, and so do the calls.
    await control().setFault(SEARCH, { latencyMs: 2_000 });
    const hangUp = new AbortController();
    const abandoned = [2, 3].map((id) =>
      fetch(server.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...session,
        },
        body: JSON.stringify(toolCall(id)),
        signal: hangUp.signal,
      }).then((r) => r.text()),
    );
    await until(async () => (await inFlightOf('alice')) === limit);
    hangUp.abort();
    await Promise.allSettled(abandoned);
    await until(async () => server.stats().inFlight === 0);

    // The request slots are free again; the upstream ones are not until the abandoned calls end.
    const next = await Promise.all(
      [4, 5].map(async (id) => {
        const res = await post(server.url, toolCall(id), session);
        return { status: res.status, messages: await messagesOf(res) };
      }),
    );
    for (const n of next) {
      expect(n.status).toBe(200);
      const result = n.messages[0]?.result as { isError?: boolean; structuredContent?: unknown };
      expect(result.isError ?? false, JSON.stringify(result)).toBe(false);
      expect(result.structuredContent).toBeDefined();
    }
    expect(await peakOf('alice'), 'searches of one user in flight at once').toBeLessThanOrEqual(limit);
  });
});

describe('HTTP transport, request ids within a session', () => {
  it('refuses a request whose id a pending request of the same session uses (400), and still answers the first', async () => {
    const server = await startBearerServer(sandbox(), bearerConfig(sandbox(), 'data-accessor'));
    servers.push(server);
    const auth = { authorization: `Bearer ${await token('alice')}` };
    const init = await post(server.url, initializeBody, auth);
    const session = {
      ...auth,
      'mcp-session-id': init.headers.get('mcp-session-id')!,
      'mcp-protocol-version': '2025-06-18',
    };
    expect(
      (await post(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status,
    ).toBe(202);
    expect((await post(server.url, toolCall(1), session)).status).toBe(200); // the exchange, done
    await control().setFault(SEARCH, { latencyMs: 1_000 });

    const first = post(server.url, toolCall(7, 'first'), session);
    await until(async () => (await inFlightOf('alice')) === 1);
    const again = await post(server.url, toolCall(7, 'second'), session);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: number; message: string } }).error).toMatchObject({
      code: -32600,
      message: expect.stringMatching(/id 7 is already used by a pending request/),
    });
    // A string "7" is another id, and the first request gets its own answer.
    const other = post(server.url, toolCall('7' as never, 'third'), session);
    const [a, b] = await Promise.all([first, other]);
    expect(await messagesOf(a)).toEqual([expect.objectContaining({ id: 7, result: expect.anything() })]);
    expect(await messagesOf(b)).toEqual([expect.objectContaining({ id: '7', result: expect.anything() })]);
    // Once answered, the id is free again.
    await control().clearFaults();
    expect((await post(server.url, toolCall(7), session)).status).toBe(200);
  });
});
