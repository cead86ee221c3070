/**
 * @module serveEras (src/server/stdio-eras.ts) against the SDK's serveStdio it wraps: the same scripts
 * of JSON-RPC lines, written to each over our LineTransport, get the same lines back, in the same order,
 * and the same reported errors. The scripts cover both eras' openings, the probe and its fallback, the
 * messages serveStdio treats specially on a pinned connection, pipelined openings and cancellation.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/v4';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { envelope } from '../helpers/eras.js';
import { serveEras } from '../../src/server/stdio-eras.js';
import { LineTransport } from '../../src/server/stdio-transport.js';
import type { ProtocolEra } from '../../src/server/mcp.js';

type Line = Record<string, unknown>;

function createServer(): McpServer {
  const server = new McpServer(
    { name: 'eras-test', version: '1' },
    { capabilities: { logging: {}, tools: { listChanged: false } } },
  );
  server.registerTool('echo', { inputSchema: z.object({ text: z.string() }) }, ({ text }) => ({
    content: [{ type: 'text', text }],
  }));
  // Answers once released (or never, when cancelled): lets a script hold a request open.
  server.registerTool('hold', { inputSchema: z.object({}) }, async (_args, extra) => {
    await new Promise<void>((resolve) => {
      held.push(resolve);
      extra.mcpReq.signal.addEventListener('abort', () => resolve());
    });
    return { content: [{ type: 'text', text: 'released' }] };
  });
  return server;
}
const held: Array<() => void> = [];

const legacyInit = (id: number): Line => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});
const initialized: Line = { jsonrpc: '2.0', method: 'notifications/initialized' };
const request = (id: number, method: string, params: Line = {}): Line => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});
const modern = (id: number, method: string, params: Line = {}, version?: string): Line =>
  request(id, method, { ...params, _meta: envelope({}, version) });
const echo = (id: number, text: string, era: 'legacy' | 'modern'): Line =>
  (era === 'modern' ? modern : request)(id, 'tools/call', { name: 'echo', arguments: { text } });
const cancel = (requestId: number, era: 'legacy' | 'modern'): Line => ({
  jsonrpc: '2.0',
  method: 'notifications/cancelled',
  params: { requestId, ...(era === 'modern' ? { _meta: envelope() } : {}) },
});

interface Step {
  /** Lines written in one chunk. */
  write: Line[];
  /** Response ids to wait for before the next step. */
  await?: number[];
  /** Releases the held calls before waiting. */
  release?: boolean;
}

/** Runs `steps` against one serving entry; returns the lines it wrote and the errors it reported. */
async function run(serve: 'sdk' | 'ours', steps: Step[]) {
  held.length = 0;
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const transport = new LineTransport({ stdin, stdout });
  const errors: string[] = [];
  const onerror = (e: Error) => errors.push(e.message);
  const handle =
    serve === 'sdk'
      ? serveStdio(() => createServer(), { transport, onerror })
      : serveEras((_era: ProtocolEra) => createServer(), { transport, onerror });
  const lines: Line[] = [];
  const waiters: Array<() => void> = [];
  let buffer = '';
  stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      lines.push(JSON.parse(buffer.slice(0, i)) as Line);
      buffer = buffer.slice(i + 1);
    }
    waiters.splice(0).forEach((w) => w());
  });
  const answered = (id: number) => lines.some((l) => l.id === id && !('method' in l));
  const until = async (ids: number[], release: boolean) => {
    while (!ids.every(answered)) {
      if (release) held.splice(0).forEach((r) => r());
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        // A held call may start after the last output: look again soon.
        if (release) setImmediate(resolve);
      });
    }
  };
  for (const step of steps) {
    stdin.write(step.write.map((l) => `${JSON.stringify(l)}\n`).join(''));
    await until(step.await ?? [], step.release ?? false);
  }
  await handle.close();
  return { lines, errors };
}

async function same(steps: Step[]) {
  const sdk = await run('sdk', steps);
  const ours = await run('ours', steps);
  expect(ours).toEqual(sdk);
  return ours;
}

describe('serveEras writes what serveStdio writes', () => {
  it('2025-11-25: initialize, pipelined calls, a second initialize, a cancellation', async () => {
    const { lines } = await same([
      { write: [legacyInit(1)], await: [1] },
      {
        write: [initialized, request(2, 'tools/list'), echo(3, 'a', 'legacy'), echo(4, 'b', 'legacy')],
        await: [2, 3, 4],
      },
      {
        write: [
          request(5, 'tools/call', { name: 'hold', arguments: {} }),
          cancel(5, 'legacy'),
          echo(6, 'c', 'legacy'),
        ],
        await: [6],
      },
      { write: [legacyInit(7), request(8, 'ping'), echo(9, 'd', 'legacy')], await: [7, 8, 9] },
      {
        write: [request(10, 'tools/call', { name: 'hold', arguments: {} }), echo(11, 'e', 'legacy')],
        await: [10, 11],
        release: true,
      },
    ]);
    expect(lines.find((l) => l.id === 3)).toMatchObject({ result: { content: [{ text: 'a' }] } });
    expect(lines.some((l) => l.id === 5)).toBe(false);
  });

  it('2026-07-28 from the first request: initialize refused, listen and its cancellation served by the SDK', async () => {
    const { lines } = await same([
      { write: [echo(1, 'a', 'modern'), modern(2, 'tools/list'), echo(3, 'b', 'modern')], await: [1, 2, 3] },
      { write: [legacyInit(4), echo(5, 'c', 'modern')], await: [4, 5] },
      {
        write: [
          modern(6, 'subscriptions/listen', { notifications: { toolsListChanged: true } }),
          echo(7, 'd', 'modern'),
        ],
        await: [7],
      },
      { write: [cancel(6, 'modern'), echo(8, 'e', 'modern'), request(9, 'tools/list')], await: [8, 9] },
      {
        write: [
          modern(10, 'tools/call', { name: 'hold', arguments: {} }),
          cancel(10, 'modern'),
          echo(11, 'f', 'modern'),
        ],
        await: [11],
      },
      { write: [modern(12, 'server/discover'), request(13, 'ping')], await: [12, 13] },
    ]);
    expect(lines.find((l) => l.id === 4)).toHaveProperty('error');
    expect(lines.find((l) => l.id === 5)).toMatchObject({ result: { content: [{ text: 'c' }] } });
  });

  it('a server/discover probe that falls back to initialize, and one that pins 2026-07-28', async () => {
    const fallback = await same([
      { write: [modern(1, 'server/discover')], await: [1] },
      { write: [legacyInit(2), initialized, echo(3, 'a', 'legacy')], await: [2, 3] },
    ]);
    expect(fallback.errors.join('\n')).not.toMatch(/still unanswered/);
    await same([
      { write: [modern(1, 'server/discover'), modern(2, 'server/discover')], await: [1, 2] },
      { write: [cancel(99, 'modern'), echo(3, 'a', 'modern'), echo(4, 'b', 'modern')], await: [3, 4] },
      { write: [legacyInit(5)], await: [5] },
    ]);
  });

  it('unsupported and malformed openings, then a good one', async () => {
    const { lines } = await same([
      { write: [modern(1, 'tools/list', {}, '2099-01-01')], await: [1] },
      {
        write: [request(2, 'tools/list', { _meta: { 'io.modelcontextprotocol/protocolVersion': 5 } })],
        await: [2],
      },
      {
        write: [{ jsonrpc: '2.0', id: 77, result: {} }, echo(3, 'a', 'modern'), echo(4, 'b', 'modern')],
        await: [3, 4],
      },
    ]);
    expect(lines.find((l) => l.id === 1)).toHaveProperty('error');
  });
});
