/**
 * MCP 2026-07-28 on the HTTP wire, raw: `server/discover`, `resultType` on every result (ours too),
 * the tool list's cache hints, the MCP-Protocol-Version/Mcp-Method/Mcp-Name checks and the new error
 * codes with their HTTP statuses, log notifications only when the request's `_meta` asks, progress on
 * the call's own response stream. No sessions: every request is authorized on its own, and two
 * stateful replicas (sharing the credential cache) answer one 2026 client's requests in turn, where a
 * 2025 client's session lives on one replica only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import type { FetchLike } from '@modelcontextprotocol/client';
import { useSandbox } from '../helpers/sandbox.js';
import { META, MODERN, envelope, type Era } from '../helpers/eras.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { bearerConfig, connect, search, startBearerServer, startLocalAndBearer } from './harness.js';
import { startRedis, type RedisServer } from './redis.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const token = (username: string) =>
  control().mintAccessToken({ username, clientId: sandbox().description.clients.isv });

let local: HttpServerHandle;
let bearer: HttpServerHandle;
let servers: Awaited<ReturnType<typeof startLocalAndBearer>> | undefined;

beforeAll(async () => {
  servers = await startLocalAndBearer(sandbox());
  ({ local, bearer } = servers);
});
afterAll(async () => {
  await servers?.close();
});

type Message = Record<string, unknown> & { id?: unknown; result?: Record<string, unknown> };
interface Answer {
  status: number;
  headers: Headers;
  /** The JSON body, or every `data:` message of an SSE body, in order. */
  messages: Message[];
  /** The response to the request (the message with its id). */
  reply: Message;
}

let nextId = 0;
/**
 * A 2026-07-28 POST as a conforming client sends it: the envelope in `_meta`, the three headers.
 * `headers` overrides them (undefined removes one); `meta` adds to the envelope.
 */
async function modern(
  url: string,
  method: string,
  params: Record<string, unknown> = {},
  options: {
    headers?: Record<string, string | undefined>;
    meta?: Record<string, unknown>;
    token?: string;
    /** Rewrites the serialized body (for bodies too deep for JSON.stringify). */
    rewrite?: (json: string) => string;
  } = {},
): Promise<Answer> {
  const id = ++nextId;
  const name = typeof params.name === 'string' ? params.name : undefined;
  const headers: Record<string, string | undefined> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': MODERN,
    'mcp-method': method,
    ...(name ? { 'mcp-name': name } : {}),
    ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    ...options.headers,
  };
  const res = await fetch(url, {
    method: 'POST',
    headers: Object.fromEntries(
      Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined),
    ),
    body: (options.rewrite ?? ((json: string) => json))(
      JSON.stringify({
        jsonrpc: '2.0',
        id,
        method,
        params: { ...params, _meta: { ...envelope(), ...(params._meta as object), ...options.meta } },
      }),
    ),
  });
  const text = await res.text();
  const messages = (res.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((l) => l.startsWith('data:'))
        .map((l) => JSON.parse(l.slice(5)) as Message)
    : text
      ? [JSON.parse(text) as Message]
      : [];
  return { status: res.status, headers: res.headers, messages, reply: messages.find((m) => 'id' in m) ?? {} };
}

const errorOf = (a: Answer) =>
  a.reply.error as { code: number; message: string; data?: Record<string, unknown> };

describe('server/discover and results', () => {
  it('discovers the server without any handshake: versions, capabilities, server info, instructions', async () => {
    const a = await modern(local.url, 'server/discover');
    expect(a.status).toBe(200);
    expect(a.reply.result).toMatchObject({
      supportedVersions: expect.arrayContaining([MODERN]),
      capabilities: { tools: {}, logging: {} },
      instructions: expect.stringMatching(/search_relevant_content/),
      resultType: 'complete',
      _meta: { [META.serverInfo]: { name: 'qindex-mcp' } },
    });
    expect(a.headers.get('mcp-session-id')).toBeNull();
  });

  it('lists the tools with resultType and public cache hints (the list depends on the mode, not the user)', async () => {
    const a = await modern(local.url, 'tools/list');
    expect(a.reply.result).toMatchObject({ resultType: 'complete', ttlMs: 3_600_000, cacheScope: 'public' });
    expect((a.reply.result!.tools as unknown[]).length).toBe(8);
  });

  it('puts resultType on every tool result: a success, a tool error, and the refusals the server builds itself', async () => {
    const found = await modern(local.url, 'tools/call', {
      name: 'search_relevant_content',
      arguments: { query: 'VPN', maxResults: 2 },
    });
    expect(found.reply.result).toMatchObject({
      resultType: 'complete',
      structuredContent: { passages: expect.any(Array) },
    });
    const refused = await modern(local.url, 'tools/call', {
      name: 'get_document',
      arguments: { documentId: 'review-bob-berg-2025' },
    });
    expect(refused.reply.result).toMatchObject({ resultType: 'complete', isError: true });
    // The argument guard answers before the SDK's handler runs.
    const bounds = await modern(local.url, 'tools/call', {
      name: 'search_relevant_content',
      arguments: { query: 'x', maxResults: 101 },
    });
    expect(bounds.reply.result).toMatchObject({ resultType: 'complete', isError: true });
    // The HTTP layer's own result: mallory's credential exchange is refused before any server runs.
    const mallory = await modern(
      bearer.url,
      'tools/call',
      { name: 'search_relevant_content', arguments: { query: 'vpn' } },
      { token: await token('mallory') },
    );
    expect(mallory.status).toBe(200);
    expect(mallory.reply.result).toMatchObject({ resultType: 'complete', isError: true });
  });
});

describe('HTTP header checks and error codes', () => {
  const list = (headers: Record<string, string | undefined>) =>
    modern(local.url, 'tools/list', {}, { headers });
  const call = (headers: Record<string, string | undefined>) =>
    modern(local.url, 'tools/call', { name: 'whoami', arguments: {} }, { headers });

  it('answers a missing or mismatched MCP-Protocol-Version, Mcp-Method or Mcp-Name with 400 and -32020', async () => {
    for (const [label, answer] of [
      ['no MCP-Protocol-Version', await list({ 'mcp-protocol-version': undefined })],
      ['header version is not the body version', await list({ 'mcp-protocol-version': '2025-11-25' })],
      ['no Mcp-Method', await list({ 'mcp-method': undefined })],
      ['Mcp-Method is another method', await list({ 'mcp-method': 'tools/call' })],
      ['no Mcp-Name on tools/call', await call({ 'mcp-name': undefined })],
      ['Mcp-Name is another tool', await call({ 'mcp-name': 'search_relevant_content' })],
    ] as const) {
      expect(answer.status, label).toBe(400);
      expect(errorOf(answer).code, label).toBe(-32020);
    }
    expect((await call({ 'mcp-name': ' whoami ' })).reply.result).toMatchObject({ resultType: 'complete' });
  });

  it('answers an unsupported version with 400 and -32022 naming the supported ones', async () => {
    const a = await modern(
      local.url,
      'tools/list',
      {},
      {
        headers: { 'mcp-protocol-version': '2099-01-01' },
        meta: { [META.protocolVersion]: '2099-01-01' },
      },
    );
    expect(a.status).toBe(400);
    expect(errorOf(a)).toMatchObject({
      code: -32022,
      data: { supported: [MODERN], requested: '2099-01-01' },
    });
  });

  it('answers methods 2026-07-28 removed with 404 and -32601, and a missing envelope with 400 and -32602', async () => {
    for (const method of ['ping', 'logging/setLevel', 'initialize']) {
      const a = await modern(local.url, method, method === 'logging/setLevel' ? { level: 'info' } : {});
      expect(a.status, method).toBe(404);
      expect(errorOf(a).code, method).toBe(-32601);
    }
    const bare = await fetch(local.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': MODERN,
        'mcp-method': 'tools/list',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    });
    expect(bare.status).toBe(400);
    expect(((await bare.json()) as { error: { code: number } }).error.code).toBe(-32602);
  });

  it('bounds a 5,000-deep attributeFilter before any parse, as the 2025 leg does, for known and unknown versions', async () => {
    const leaf = JSON.stringify({ equalsTo: { name: 'team', value: { stringValue: 'x' } } });
    const deep = '{"notFilter":'.repeat(5000) + leaf + '}'.repeat(5000);
    const params = { name: 'search_relevant_content', arguments: { query: 'q', attributeFilter: 'DEEP' } };
    for (const version of [MODERN, 'garbage']) {
      const a = await modern(local.url, 'tools/call', params, {
        headers: { 'mcp-protocol-version': version },
        meta: { [META.protocolVersion]: version },
        rewrite: (json) => json.replace('"DEEP"', deep),
      });
      expect(a.status, version).toBeLessThan(500);
      const text = JSON.stringify(a.reply);
      expect(text, version).toMatch(/attributeFilter|nests more than/);
    }
    // …and the server keeps serving.
    expect((await modern(local.url, 'tools/list')).status).toBe(200);
  });

  it('answers an unknown tool in-band with -32602 (HTTP 200), naming the tools there are', async () => {
    const a = await modern(local.url, 'tools/call', { name: 'drop_database', arguments: {} });
    expect(a.status).toBe(200);
    expect(errorOf(a)).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/Unknown tool "drop_database".*whoami/),
    });
  });
});

describe('streams and logs of one call', () => {
  // A caller error (a document alice may not read) is logged at info.
  const refusedRead = (meta: Record<string, unknown> = {}) =>
    modern(
      local.url,
      'tools/call',
      { name: 'get_document', arguments: { documentId: 'review-bob-berg-2025' } },
      { meta },
    );
  const logsOf = (a: Answer) => a.messages.filter((m) => m.method === 'notifications/message');

  it("sends log notifications only when the request's _meta asks for a level, and at that level", async () => {
    const silentCall = await refusedRead();
    expect(silentCall.headers.get('content-type')).toMatch(/^application\/json/);
    expect(logsOf(silentCall)).toEqual([]);
    expect(logsOf(await refusedRead({ [META.logLevel]: 'error' }))).toEqual([]);
    const asked = await refusedRead({ [META.logLevel]: 'info' });
    expect(logsOf(asked)).toEqual([
      expect.objectContaining({ params: expect.objectContaining({ level: 'info', logger: 'qindex-mcp' }) }),
    ]);
    expect(asked.messages.at(-1)).toBe(asked.reply);
  });

  it("streams chat progress on the call's own response, every notification before the result", async () => {
    await control().setFault('qbusiness:Chat', { latencyMs: 200 });
    try {
      const a = await modern(local.url, 'tools/call', {
        name: 'chat',
        arguments: { message: 'Explain the travel reimbursement limit in detail.' },
        _meta: { progressToken: 'p1' },
      });
      expect(a.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const progress = a.messages.filter((m) => m.method === 'notifications/progress');
      expect(progress.length).toBeGreaterThan(1);
      for (const p of progress) expect(p.params).toMatchObject({ progressToken: 'p1' });
      expect(a.messages.at(-1)).toBe(a.reply);
      expect(a.reply.result).toMatchObject({ resultType: 'complete', structuredContent: { streamed: true } });
    } finally {
      await control().clearFaults();
    }
  });
});

describe('no sessions in 2026-07-28', () => {
  it('authorizes every request on its own: no token, no answer, whatever came before', async () => {
    const t = await token('alice');
    const whoami = (auth?: string) =>
      modern(bearer.url, 'tools/call', { name: 'whoami', arguments: {} }, auth ? { token: auth } : {});
    expect((await whoami()).status).toBe(401);
    expect((await whoami(t)).reply.result).toMatchObject({
      structuredContent: { user: { email: 'alice@example.com' } },
    });
    const after = await whoami();
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
    expect((await whoami('not-a-jwt')).status).toBe(401);
    expect((await whoami(await token('bob'))).reply.result).toMatchObject({
      structuredContent: { user: { email: 'bob@example.com' } },
    });
  });

  describe('two stateful replicas sharing the credential cache', () => {
    let redis: RedisServer;
    let replicas: HttpServerHandle[] = [];
    beforeAll(async () => {
      redis = await startRedis();
      const cacheKey = randomBytes(32).toString('base64');
      const config = bearerConfig(sandbox(), 'data-accessor', { http: { redisUrl: redis.url, cacheKey } });
      replicas = await Promise.all([0, 1].map(() => startBearerServer(sandbox(), config)));
    });
    afterAll(async () => {
      await Promise.all(replicas.map((r) => r.close()));
      await redis?.stop();
    });

    /** A round-robin "load balancer" in the client's fetch. */
    const roundRobin = (): FetchLike => {
      let next = 0;
      return (_url, init) => fetch(replicas[next++ % replicas.length]!.url, init);
    };
    const across = (era: Era, t: string) => connect(replicas[0]!.url, t, { era, fetch: roundRobin() });

    it('serve a 2026 client whichever replica gets each request, with one credential exchange', async () => {
      await control().reset();
      const { client } = await across('modern', await token('alice'));
      for (const q of ['payments-api runbook', 'VPN', 'office guide', 'security key']) {
        const r = await search(client, q);
        expect(r.isError, r.text).toBe(false);
      }
      expect(replicas.map((r) => r.stats().sessions)).toEqual([0, 0]);
      expect((await control().counters())['sso-oauth:CreateTokenWithIAM']).toBe(1);
      await client.close();
    });

    it("while a 2025 client's session lives on the replica that opened it", async () => {
      const error = await across('legacy', await token('alice')).then(
        async ({ client }) => {
          await client.listTools();
          await client.listTools();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error).toMatchObject({ status: 404 });
    });
  });
});
