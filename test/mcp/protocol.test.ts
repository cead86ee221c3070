/**
 * @module The stdio wire itself, with no SDK client in between: a raw child process fed malformed
 * lines, unknown tools and out-of-bounds arguments. Every stdout line must parse as JSON-RPC, errors
 * must be clear, the server must keep answering, and no canary secret may appear on stdout or stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJSONRPCMessage } from '@modelcontextprotocol/client';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt } from './harness.js';
import { spawnRaw, type RawServer } from './raw-server.js';

const sandbox = useSandbox();

let server: RawServer;
const request = (method: string, params: Record<string, unknown> = {}) => server.request(method, params);

beforeAll(async () => {
  await ensureBuilt();
  server = await spawnRaw(sandbox());
  // spawnRaw has initialized: its answer is the first line.
  const init = JSON.parse(server.lines[0]!) as Record<string, unknown>;
  expect(init.result).toMatchObject({
    serverInfo: { name: 'qindex-mcp' },
    capabilities: { tools: {}, logging: {} },
  });
}, 120_000);

afterAll(() => {
  server?.close();
});

describe('malformed input over stdio', () => {
  it('answers a line that is not JSON with a parse error and keeps serving', async () => {
    await server.writeRaw('{"jsonrpc":"2.0","id":99,"method":"tools/list",\n');
    const error = await server.response(null);
    expect(error).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    expect((error.error as { message: string }).message).toMatch(/not valid JSON/);
    const list = await request('tools/list');
    expect((list.result as { tools: unknown[] }).tools.length).toBe(8);
  });

  it('answers JSON that is not JSON-RPC with an invalid-request error and keeps serving', async () => {
    await server.writeRaw('{"hello":"world"}\n');
    const error = await server.response(null);
    expect(error).toMatchObject({ error: { code: -32600 } });
    const ping = await request('ping');
    expect(ping.result).toEqual({});
  });

  it('answers an unknown method and an unknown tool with JSON-RPC errors', async () => {
    const method = await request('tools/explode');
    expect(method.error).toMatchObject({ code: -32601 });
    const tool = await request('tools/call', { name: 'drop_database', arguments: {} });
    expect(tool.error).toMatchObject({ code: -32602 });
    expect((tool.error as { message: string }).message).toMatch(
      /Unknown tool "drop_database".*search_relevant_content/,
    );
  });

  it('answers arguments that are not an object, or a call without a name, with a readable -32602', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { name: 'search_relevant_content', arguments: ['VPN'] },
        /"arguments" must be a JSON object.*an array/,
      ],
      [{ name: 'search_relevant_content', arguments: 'VPN' }, /"arguments" must be a JSON object.*a string/],
      [{ name: 'whoami', arguments: null }, /"arguments" must be a JSON object.*null/],
      [{ name: 'whoami', arguments: 42 }, /"arguments" must be a JSON object.*a number/],
      [{ arguments: {} }, /params\.name/],
      [{ name: 7, arguments: {} }, /params\.name/],
    ];
    for (const [params, pattern] of cases) {
      const r = await request('tools/call', params);
      const error = r.error as { code: number; message: string } | undefined;
      expect(error?.code, JSON.stringify(params)).toBe(-32602);
      expect(error!.message).toMatch(pattern);
      // Readable, not a zod issue list serialized as JSON.
      expect(error!.message).not.toMatch(/[[{]\s*"(code|expected|path)"/);
      expect(error!.message.length).toBeLessThan(300);
    }
    expect((await request('ping')).result).toEqual({});
  });

  it('answers initialize and logging/setLevel with bad params by a readable -32602, not a zod dump', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['initialize', { protocolVersion: 5 }, /Invalid initialize request: params\.protocolVersion: .*string/],
      ['logging/setLevel', { level: 'loud' }, /Invalid logging\/setLevel request: params\.level: .*"debug"/],
    ];
    for (const [method, params, pattern] of cases) {
      const error = (await request(method, params)).error as { code: number; message: string } | undefined;
      expect(error?.code, method).toBe(-32602);
      expect(error!.message).toMatch(pattern);
      expect(error!.message).not.toMatch(/[[{]\s*"(code|expected|path)"/);
    }
    expect((await request('ping')).result).toEqual({});
  });

  it('rejects out-of-bounds and malformed arguments with a message naming the field and bound', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ query: 'x', maxResults: 101 }, /maxResults/],
      [{ query: 'x', maxResults: 0 }, /maxResults/],
      [{ query: '' }, /query/],
      [{ query: 'x'.repeat(1001) }, /query/],
      [{ query: 'x', attributeFilter: { equalsTo: { name: 'a' } } }, /attributeFilter/],
      [{ query: 'x', extra: true }, /extra/],
      [{}, /query/],
    ];
    for (const [args, pattern] of cases) {
      const r = await request('tools/call', { name: 'search_relevant_content', arguments: args });
      const result = r.result as { isError?: boolean; content: Array<{ text: string }> };
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(result.content[0]!.text).toMatch(/Input validation error/);
      expect(result.content[0]!.text).toMatch(pattern);
    }
    const doc = await request('tools/call', {
      name: 'get_document',
      arguments: { documentId: 'x', maxChars: 50_001 },
    });
    expect((doc.result as { content: Array<{ text: string }> }).content[0]!.text).toMatch(/maxChars/);
    const chat = await request('tools/call', {
      name: 'chat',
      arguments: { message: 'hi', conversationId: 'nope' },
    });
    expect((chat.result as { content: Array<{ text: string }> }).content[0]!.text).toMatch(/conversationId/);
  });

  it('still serves a real tool call after all of that', async () => {
    const r = await request('tools/call', {
      name: 'search_relevant_content',
      arguments: { query: 'VPN', maxResults: 2 },
    });
    const result = r.result as { isError?: boolean; structuredContent: { passages: unknown[] } };
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(result.structuredContent.passages.length).toBeGreaterThan(0);
  });

  it('answers chat, whoami and a refused document read on the same connection', async () => {
    const chat = await request('tools/call', {
      name: 'chat',
      arguments: { message: 'How do I enroll a security key?' },
    });
    expect((chat.result as { isError?: boolean }).isError).toBeFalsy();
    const who = await request('tools/call', { name: 'whoami', arguments: {} });
    expect((who.result as { structuredContent: { signedIn: boolean } }).structuredContent.signedIn).toBe(
      true,
    );
    const doc = await request('tools/call', {
      name: 'get_document',
      arguments: { documentId: 'review-bob-berg-2025' },
    });
    expect((doc.result as { isError?: boolean }).isError).toBe(true);
  });

  it('wrote only JSON-RPC lines to stdout, and no canary secret to stdout or stderr', () => {
    expect(server.lines.length).toBeGreaterThan(10);
    for (const line of server.lines) {
      expect(() => parseJSONRPCMessage(JSON.parse(line)), line).not.toThrow();
    }
    const secret = sandbox().description.modes.idc.baseCredentials.secretAccessKey;
    const everything = server.lines.join('\n') + server.stderr();
    expect(everything).not.toContain(server.refreshToken);
    expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});
