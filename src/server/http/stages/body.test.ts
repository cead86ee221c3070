/** @module Unit tests of the body stage: size bound, JSON parse, batch refusals. */
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { RPC } from '../http-error.js';
import {
  checkBatch,
  checkDepth,
  checkMessages,
  jsonBody,
  MAX_BODY_DEPTH,
  parseJson,
  readBody,
} from './body.js';

/** A real request whose body arrives in `chunks`. */
function request(method: string, chunks: string[], headers: Record<string, string> = {}) {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.headers = headers;
  for (const c of chunks) req.push(Buffer.from(c));
  req.push(null);
  return req;
}

const call = (id: number) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'whoami' } });

/** `{"a":{"a":…}}`, `levels` objects deep. */
const nested = (levels: number): unknown =>
  JSON.parse('{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1));

describe('body stage', () => {
  it('refuses a body nested deeper than any tool accepts: as the tool error for a tools/call, else -32602', () => {
    expect(() =>
      checkDepth({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: nested(MAX_BODY_DEPTH - 1) }),
    ).not.toThrow();
    expect(() =>
      checkDepth({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: nested(MAX_BODY_DEPTH + 1) }),
    ).toThrow(expect.objectContaining({ status: 400, rpcCode: RPC.invalidParams, asToolResult: false }));
    let filter = '{"equalsTo":{"name":"a","value":{"stringValue":"b"}}}';
    for (let i = 0; i < 100_000; i++) filter = `{"notFilter":${filter}}`;
    const deep = JSON.parse(
      `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"search_relevant_content","arguments":{"query":"q","attributeFilter":${filter}}}}`,
    );
    expect(() => checkDepth(deep)).toThrow(
      expect.objectContaining({
        asToolResult: true,
        message: expect.stringMatching(/search_relevant_content: attributeFilter nests more than 10 levels/),
      }),
    );
  });

  it('reads a body up to the bound, refuses one over it (413) by header or as it streams', async () => {
    expect((await readBody(request('POST', ['ab', 'cd']), 4)).toString()).toBe('abcd');
    await expect(readBody(request('POST', ['abc', 'de']), 4)).rejects.toMatchObject({
      status: 413,
      message: 'Request body exceeds 4 bytes.',
    });
    await expect(readBody(request('POST', [], { 'content-length': '5' }), 4)).rejects.toMatchObject({
      status: 413,
    });
  });

  it('refuses a body that is not JSON with 400 and the JSON-RPC parse error code', () => {
    expect(parseJson(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(() => parseJson(Buffer.from('{not json'))).toThrow(
      expect.objectContaining({ status: 400, rpcCode: RPC.parseError }),
    );
  });

  it('refuses JSON that is not JSON-RPC 2.0 with 400 and -32600, a batch for any element', () => {
    for (const bad of [
      { hello: 'world' },
      { jsonrpc: '2.0', id: 1.5, method: 'ping' },
      { jsonrpc: '2.0', id: 2 },
      [call(1), { jsonrpc: '1.0', id: 2, method: 'ping' }],
    ]) {
      expect(() => checkMessages(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({
          status: 400,
          rpcCode: RPC.invalidRequest,
          message: expect.stringMatching(/not a JSON-RPC 2.0 message/),
        }),
      );
    }
    for (const good of [
      call(1),
      [call(1), call(2)],
      { jsonrpc: '2.0', method: 'notifications/initialized' },
    ]) {
      expect(() => checkMessages(good)).not.toThrow();
    }
  });

  it('refuses batches under MCP 2025-06-18 and ones larger than the user may run, with -32600', () => {
    const at = (v: string) => ({ headers: { 'mcp-protocol-version': v } });
    expect(() => checkBatch(at('2025-03-26'), [call(1), call(2)], 2)).not.toThrow();
    expect(() => checkBatch(at('2025-03-26'), [call(1), call(2), call(3)], 2)).toThrow(
      expect.objectContaining({
        status: 400,
        rpcCode: RPC.invalidRequest,
        message: expect.stringMatching(/batch of 3/),
      }),
    );
    expect(() => checkBatch(at('2025-06-18'), [call(1)], 4)).toThrow(/not part of MCP 2025-06-18/);
    expect(() => checkBatch(at('2025-06-18'), call(1), 4)).not.toThrow();
  });

  it('as a stage, parses POST bodies and leaves other methods without one', async () => {
    const read = jsonBody({ maxBytes: 1000, maxConcurrentPerUser: 4 });
    expect(await read(request('POST', [JSON.stringify(call(1))]))).toEqual(call(1));
    expect(await read(request('GET', []))).toBeUndefined();
    expect(await read(request('DELETE', ['ignored']))).toBeUndefined();
  });
});
