/**
 * @module The stdio transport at its limits, against the built CLI: a line over 10 MiB is answered
 * with an error naming the limit and skipped while the server keeps serving, and a client that stops
 * reading stdout for a while gets every response intact and in order, with no listener-leak warning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt } from './harness.js';
import { spawnRaw, type RawServer } from './raw-server.js';
import { leadingId } from '../../src/server/stdio-transport.js';

const sandbox = useSandbox();
let server: RawServer;

// One server per describe: a failure in one (say, the process ending) does not hide the other's result.
beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

function ownServer() {
  beforeAll(async () => {
    server = await spawnRaw(sandbox());
  }, 30_000);
  afterAll(() => server?.close());
}

const MiB = 1024 * 1024;

describe('a line over the 10 MiB limit', () => {
  ownServer();

  it('is answered under its own id, skipped without buffering, and the server keeps serving', async () => {
    const id = server.nextId();
    const head = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"search_relevant_content","arguments":{"query":"`;
    await server.writeRaw(head);
    // 12 MiB in 1 MiB writes, as a client streaming a huge argument would.
    for (let i = 0; i < 12; i++) await server.writeRaw('a'.repeat(MiB));
    await server.writeRaw('"}}}\n');
    const refused = await server.response(id);
    expect(refused).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32600 } });
    expect((refused.error as { message: string }).message).toMatch(/10 MiB \(10485760 bytes\) limit/);
    expect(await server.request('ping')).toMatchObject({ result: {} });
    expect(server.stderr()).not.toMatch(/ReadBuffer/);
    expect(server.stderr()).toMatch(/"kind":"line_too_long"/);
  });

  it('without a readable id, is answered without one; the next line on the same write still counts', async () => {
    const id = server.nextId();
    await server.writeRaw(
      `${'x'.repeat(11 * MiB)}\n${JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' })}\n`,
    );
    const refused = await server.response(null);
    expect(refused).toMatchObject({ error: { code: -32600 } });
    expect(await server.response(id)).toMatchObject({ result: {} });
  });

  it('still takes a line just under the limit, however it is split', async () => {
    const id = server.nextId();
    const line = JSON.stringify({ jsonrpc: '2.0', id, method: 'ping', params: { _meta: { pad: '' } } });
    const pad = 'p'.repeat(10 * MiB - Buffer.byteLength(line));
    const [before, after] = line.split('"pad":""');
    await server.writeRaw(`${before}"pad":"`);
    for (let at = 0; at < pad.length; at += 3 * MiB + 7)
      await server.writeRaw(pad.slice(at, at + 3 * MiB + 7));
    await server.writeRaw(`"${after}\n`);
    expect(await server.response(id)).toMatchObject({ result: {} });
    expect(server.child.exitCode).toBeNull();
  });
});

describe('a client that stops reading stdout', () => {
  ownServer();

  it('gets every response intact and in order once it reads again, and stderr has no listener warning', async () => {
    const count = 120;
    const first = server.lines.length;
    server.child.stdout.pause();
    const ids = Array.from({ length: count }, () => server.nextId());
    for (const id of ids) server.send({ jsonrpc: '2.0', id, method: 'tools/list', params: {} });
    // A tool call after them: its log line on stderr says the server has produced the responses before it.
    const marker = server.nextId();
    server.send({
      jsonrpc: '2.0',
      id: marker,
      method: 'tools/call',
      params: { name: 'whoami', arguments: {} },
    });
    await server.stderrUntil((s) => /"tool":"whoami".*tool call done/.test(s));
    server.child.stdout.resume();
    await server.response(marker);
    const listed = server.lines
      .slice(first)
      .map((l) => JSON.parse(l) as { id?: number; result?: { tools?: unknown[] } })
      .filter((m) => typeof m.id === 'number' && ids.includes(m.id));
    expect(listed.map((m) => m.id)).toEqual(ids);
    for (const m of listed) expect(m.result?.tools).toHaveLength(8);
    expect(server.stderr()).not.toMatch(/MaxListenersExceededWarning/);
  });
});

describe('leadingId (the id of a refused line, from its first bytes)', () => {
  it('finds a top-level id wherever it sits among the first members', () => {
    expect(leadingId('{"jsonrpc":"2.0","id":7,"method":"x","params":{"q":"aaa')).toBe(7);
    expect(leadingId(' { "method" : "x" , "id" : "req-1" , "params":{')).toBe('req-1');
    expect(leadingId('{"method":"x","params":{"id":3,"s":"} ,\\"id\\":4"},"id":5,"q":"aa')).toBe(5);
  });

  it('gives none when the id is nested, cut off, not an integer or string, or the text is not an object', () => {
    expect(leadingId('{"method":"x","params":{"id":3,"q":"aaaa')).toBeUndefined();
    expect(leadingId('{"jsonrpc":"2.0","id":12')).toBeUndefined();
    expect(leadingId('{"id":1.5,"method":"x"')).toBeUndefined();
    expect(leadingId('{"id":null,"method":"x"')).toBeUndefined();
    expect(leadingId('[{"id":1}')).toBeUndefined();
    expect(leadingId('xxxxxxxx')).toBeUndefined();
  });
});
