/**
 * @module MCP 2026-07-28 on the stdio wire, raw, through the built CLI: `server/discover` and tool calls
 * with the `_meta` envelope and no `initialize`, `resultType` on every result, the tool list's cache
 * hints, the new error codes (an unsupported version, a missing envelope, removed methods), log
 * notifications only when a request's `_meta` asks, and the openings a client may try: a wrong version
 * first, or a `server/discover` probe that falls back to `initialize` (the Python SDK's way).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJSONRPCMessage } from '@modelcontextprotocol/client';
import { META, MODERN, envelope } from '../helpers/eras.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt } from './harness.js';
import { spawnRaw, type RawServer } from './raw-server.js';

const sandbox = useSandbox();
const servers: RawServer[] = [];
let server: RawServer;

const open = async () => {
  const s = await spawnRaw(sandbox(), { initialize: false });
  servers.push(s);
  return s;
};

beforeAll(async () => {
  await ensureBuilt();
  server = await open();
}, 120_000);
afterAll(() => servers.forEach((s) => s.close()));

type Reply = Record<string, unknown> & { result?: Record<string, unknown>; error?: Record<string, unknown> };
/** A 2026-07-28 request: the envelope in `_meta` (plus `meta`). */
const modern = (s: RawServer, method: string, params: Record<string, unknown> = {}, meta = {}) =>
  s.request(method, { ...params, _meta: { ...envelope(), ...meta } }) as Promise<Reply>;
/** A tool failure that is the caller's (a document alice may not read): logged at info. */
const refusedRead = (meta: Record<string, unknown> = {}) =>
  modern(
    server,
    'tools/call',
    { name: 'get_document', arguments: { documentId: 'review-bob-berg-2025' } },
    meta,
  );
const logLines = () =>
  server.lines.filter((l) => (JSON.parse(l) as { method?: string }).method === 'notifications/message');

describe('2026-07-28 over stdio, without initialize', () => {
  it('answers server/discover as the first message: versions, capabilities, server info, instructions', async () => {
    const discover = await modern(server, 'server/discover');
    expect(discover.result).toMatchObject({
      supportedVersions: [MODERN],
      capabilities: { tools: { listChanged: false }, logging: {} },
      instructions: expect.stringMatching(/search_relevant_content/),
      resultType: 'complete',
      _meta: { [META.serverInfo]: { name: 'qindex-mcp' } },
    });
  });

  it('serves tools/list with public cache hints and tools/call with resultType, from _meta alone', async () => {
    const list = await modern(server, 'tools/list');
    expect(list.result).toMatchObject({ resultType: 'complete', ttlMs: 3_600_000, cacheScope: 'public' });
    expect((list.result!.tools as unknown[]).length).toBe(8);
    const call = await modern(server, 'tools/call', {
      name: 'search_relevant_content',
      arguments: { query: 'VPN', maxResults: 2 },
    });
    expect(call.result).toMatchObject({
      resultType: 'complete',
      structuredContent: { passages: expect.any(Array) },
    });
    expect(call.result!.isError).toBeFalsy();
    const who = await modern(server, 'tools/call', { name: 'whoami', arguments: {} });
    expect(who.result).toMatchObject({ resultType: 'complete', structuredContent: { signedIn: true } });
  });

  it('puts resultType on tool errors too, the argument guard’s included', async () => {
    expect((await refusedRead()).result).toMatchObject({ resultType: 'complete', isError: true });
    const bounds = await modern(server, 'tools/call', {
      name: 'search_relevant_content',
      arguments: { query: 'x', maxResults: 101 },
    });
    expect(bounds.result).toMatchObject({ resultType: 'complete', isError: true });
    expect(JSON.stringify(bounds.result)).toMatch(/maxResults/);
  });

  it('answers with the new error codes: a missing envelope, removed methods, initialize, an unknown tool', async () => {
    const bare = (await server.request('tools/list', {})) as Reply;
    expect(bare.error).toMatchObject({ code: -32602, message: expect.stringMatching(/_meta envelope/) });
    for (const method of ['ping', 'logging/setLevel']) {
      expect(
        (await modern(server, method, method === 'ping' ? {} : { level: 'info' })).error,
        method,
      ).toMatchObject({
        code: -32601,
      });
    }
    const init = (await server.request('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'late', version: '1' },
    })) as Reply;
    expect(init.error).toMatchObject({ code: -32022 });
    const unknown = await modern(server, 'tools/call', { name: 'drop_database', arguments: {} });
    expect(unknown.error).toMatchObject({
      code: -32602,
      message: expect.stringMatching(/Unknown tool "drop_database"/),
    });
  });

  it("sends log notifications only when the request's _meta asks for a level, and at that level", async () => {
    const before = logLines().length;
    await refusedRead();
    await refusedRead({ [META.logLevel]: 'error' });
    expect(logLines().length).toBe(before);
    await refusedRead({ [META.logLevel]: 'info' });
    const sent = logLines()
      .slice(before)
      .map((l) => JSON.parse(l) as { params: Record<string, unknown> });
    expect(sent).toEqual([
      expect.objectContaining({
        params: expect.objectContaining({
          level: 'info',
          logger: 'qindex-mcp',
          data: expect.objectContaining({ code: expect.any(String) }),
        }),
      }),
    ]);
  });

  it('wrote only JSON-RPC to stdout, and no secret', () => {
    for (const line of server.lines) expect(() => parseJSONRPCMessage(JSON.parse(line)), line).not.toThrow();
    const everything = server.lines.join('\n') + server.stderr();
    expect(everything).not.toContain(server.refreshToken);
    expect(everything).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});

describe('openings over stdio', () => {
  it('refuses an unsupported version with -32022 naming the supported one, then serves a valid opening', async () => {
    const s = await open();
    const wrong = (await s.request('tools/list', { _meta: envelope({}, '2099-01-01') })) as Reply;
    expect(wrong.error).toMatchObject({
      code: -32022,
      data: { supported: [MODERN], requested: '2099-01-01' },
    });
    expect((await modern(s, 'tools/list')).result).toMatchObject({ resultType: 'complete' });
  });

  it('falls back to initialize after a server/discover probe, and then speaks 2025-11-25', async () => {
    const s = await open();
    expect((await modern(s, 'server/discover')).result).toMatchObject({ supportedVersions: [MODERN] });
    const init = (await s.request('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'probing-client', version: '1' },
    })) as Reply;
    expect(init.result).toMatchObject({ protocolVersion: '2025-11-25', serverInfo: { name: 'qindex-mcp' } });
    s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const list = (await s.request('tools/list', {})) as Reply;
    expect((list.result!.tools as unknown[]).length).toBe(8);
    expect(list.result!.resultType).toBeUndefined();
    expect(list.result!.ttlMs).toBeUndefined();
    expect(((await s.request('ping', {})) as Reply).result).toEqual({});
  });
});
