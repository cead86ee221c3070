/**
 * @module Hostile tool arguments over raw stdio against the built CLI: attribute filters nested past
 * Q's 10 levels or too large, lone UTF-16 surrogates in ids and tokens, and nextToken past Q's 800
 * characters all get an `isError` result naming the field and the limit, and the server keeps
 * serving. Thousands of rejected deep filters leave the server's heap (after a full GC) where it was.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_TOKEN_MAX } from '../../src/tools/page-token.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt } from './harness.js';
import { spawnRaw, type RawServer } from './raw-server.js';

const sandbox = useSandbox();
let server: RawServer;

beforeAll(async () => {
  await ensureBuilt();
  server = await spawnRaw(sandbox());
}, 120_000);

afterAll(() => {
  server?.close();
});

/** The first text block of a tools/call answer, and whether it is an error result. */
function toolAnswer(message: Record<string, unknown>): { isError: boolean; text: string } {
  const result = message.result as { isError?: boolean; content?: Array<{ text?: string }> } | undefined;
  if (!result) throw new Error(`expected a result, got ${JSON.stringify(message).slice(0, 500)}`);
  return { isError: result.isError === true, text: result.content?.[0]?.text ?? '' };
}

/** A tools/call written as JSON text: a filter can be too deep for JSON.stringify. */
async function requestText(s: RawServer, paramsJson: string) {
  const id = s.nextId();
  await s.writeRaw(`{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${paramsJson}}\n`);
  return s.response(id);
}

const call = async (s: RawServer, name: string, args: Record<string, unknown>) =>
  toolAnswer(await s.request('tools/call', { name, arguments: args }));

const leaf = { equalsTo: { name: '_category', value: { stringValue: 'office guide' } } };

/** `levels` notFilters around a leaf: the leaf sits `levels` levels below the top-level filter. */
function notChain(levels: number): Record<string, unknown> {
  let filter: Record<string, unknown> = leaf;
  for (let i = 0; i < levels; i++) filter = { notFilter: filter };
  return filter;
}

/** Alternating andAllFilters / orAllFilters lists, `levels` deep, as JSON text (too deep to stringify). */
function listChain(levels: number): string {
  const ops = Array.from({ length: levels }, (_, i) => (i % 2 ? 'orAllFilters' : 'andAllFilters'));
  const leafJson = JSON.stringify(leaf);
  return `${ops.map((op) => `{"${op}":[`).join('')}${leafJson}${`,${leafJson}]}`.repeat(levels)}`;
}

/** A tools/call whose attributeFilter is given as JSON text. */
const callWithFilter = async (
  s: RawServer,
  name: string,
  args: Record<string, unknown>,
  filterJson: string,
) =>
  toolAnswer(
    await requestText(
      s,
      `{"name":${JSON.stringify(name)},"arguments":${JSON.stringify(args).slice(0, -1)},"attributeFilter":${filterJson}}}`,
    ),
  );

describe('attributeFilter bounds', () => {
  it('refuses a filter nested 3,000 deep, in search and chat, naming attributeFilter and the limit', async () => {
    for (const [name, args, filter] of [
      ['search_relevant_content', { query: 'office' }, JSON.stringify(notChain(3000))],
      ['chat', { message: 'Where is the office?' }, JSON.stringify(notChain(3000))],
      ['search_relevant_content', { query: 'office' }, listChain(3000)],
      ['chat', { message: 'Where is the office?' }, listChain(3000)],
    ] as const) {
      const answer = await callWithFilter(server, name, args, filter);
      expect(answer.isError, name).toBe(true);
      expect(answer.text).toMatch(/attributeFilter nests more than 10 levels/);
      expect(answer.text).not.toMatch(/call stack/i);
    }
    const ok = await call(server, 'search_relevant_content', { query: 'VPN', maxResults: 1 });
    expect(ok.isError, ok.text).toBe(false);
  });

  it('passes a filter 10 levels deep on to Q and refuses 11', async () => {
    for (const filter of [JSON.stringify(notChain(10)), listChain(10)]) {
      const answer = await callWithFilter(server, 'search_relevant_content', { query: 'office' }, filter);
      expect(answer.isError, answer.text).toBe(false);
    }
    for (const filter of [JSON.stringify(notChain(11)), listChain(11)]) {
      const answer = await callWithFilter(server, 'search_relevant_content', { query: 'office' }, filter);
      expect(answer.isError).toBe(true);
      expect(answer.text).toMatch(/attributeFilter nests more than 10 levels.*at most 10/);
    }
  });

  it('refuses a filter too large to be worth parsing, naming the limit', async () => {
    const wide = { orAllFilters: Array.from({ length: 1000 }, () => leaf) };
    const answer = await call(server, 'search_relevant_content', { query: 'office', attributeFilter: wide });
    expect(answer.isError).toBe(true);
    expect(answer.text).toMatch(/attributeFilter is too large: more than 2000 values/);
  });
});

describe('lone UTF-16 surrogates', () => {
  it('names the field instead of failing upstream with a URIError', async () => {
    const id = 'a1b2c3d4-0000-4000-8000-000000000000';
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['search_relevant_content', { query: 'VPN', nextToken: 'abc\ud800def' }, 'nextToken'],
      ['list_conversations', { nextToken: '\udc00' }, 'nextToken'],
      ['get_conversation', { conversationId: id, nextToken: 'x\ud83d' }, 'nextToken'],
      ['get_document', { documentId: 'eng-oncall\ud800' }, 'documentId'],
      ['get_conversation', { conversationId: `${id.slice(0, 35)}\ud800` }, 'conversationId'],
      ['search_relevant_content', { query: 'VPN \udfff' }, 'query'],
      ['chat', { message: 'hi \ud800' }, 'message'],
      [
        'search_relevant_content',
        {
          query: 'VPN',
          attributeFilter: { notFilter: { equalsTo: { name: 'a', value: { stringValue: '\ud800' } } } },
        },
        'attributeFilter.notFilter.equalsTo.value.stringValue',
      ],
    ];
    for (const [name, args, field] of cases) {
      const answer = await call(server, name, args);
      expect(answer.isError, `${name} ${field}`).toBe(true);
      expect(answer.text).toContain(`${field} is not well-formed text: it has a lone UTF-16 surrogate`);
      expect(answer.text).not.toMatch(/URIError|q_failed/);
    }
    // A well-formed pair (an emoji) is fine.
    const emoji = await call(server, 'search_relevant_content', { query: 'VPN \ud83d\ude00', maxResults: 1 });
    expect(emoji.isError, emoji.text).toBe(false);
  });
});

describe('nextToken bound', () => {
  it("advertises and enforces Q's 800 characters", async () => {
    const list = await server.request('tools/list');
    const tools = (
      list.result as {
        tools: Array<{ name: string; inputSchema: { properties: Record<string, { maxLength?: number }> } }>;
      }
    ).tools;
    const paged = tools.filter((t) => t.inputSchema.properties.nextToken);
    expect(paged.map((t) => t.name).sort()).toEqual([
      'get_conversation',
      'list_conversations',
      'search_relevant_content',
    ]);
    // search_relevant_content's token is Q's inside our wrapper (citation count, query hash): a bit longer.
    const bound = (tool: string) => (tool === 'search_relevant_content' ? PAGE_TOKEN_MAX : 800);
    for (const t of paged) expect(t.inputSchema.properties.nextToken!.maxLength, t.name).toBe(bound(t.name));

    const long = await call(server, 'list_conversations', { nextToken: 'x'.repeat(801) });
    expect(long.isError).toBe(true);
    expect(long.text).toMatch(/Input validation error.*nextToken/s);
    // 800 passes our schema; Q (the sandbox) then judges the token itself.
    const edge = await call(server, 'list_conversations', { nextToken: 'x'.repeat(800) });
    expect(edge.text).not.toMatch(/Input validation error/);
  });
});

/** Preloaded into the server: on SIGUSR2, a full GC, then heapUsed as one JSON line on fd 3. */
const HEAP_PROBE = `
import { writeSync } from 'node:fs';
process.on('SIGUSR2', () => {
  for (let i = 0; i < 4; i++) globalThis.gc();
  writeSync(3, JSON.stringify({ heapUsed: process.memoryUsage().heapUsed }) + '\\n');
});
`;

describe('rejected inputs leave nothing behind', () => {
  let probed: RawServer;
  afterAll(() => {
    probed?.close();
  });

  it('keeps the heap after a full GC within 10 % across 4,000 rejected deep filters', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qindex-heap-'));
    const probe = join(dir, 'heap-probe.mjs');
    await writeFile(probe, HEAP_PROBE);
    probed = await spawnRaw(sandbox(), {
      nodeArgs: ['--expose-gc', '--import', probe],
      extraPipes: 1,
      logLevel: 'warn',
    });
    const readings: number[] = [];
    const heapUsed = () =>
      new Promise<number>((resolve) => {
        (probed.child.stdio[3] as Readable).once('data', (chunk: Buffer) => {
          const { heapUsed } = JSON.parse(chunk.toString('utf8')) as { heapUsed: number };
          readings.push(heapUsed);
          resolve(heapUsed);
        });
        probed.child.kill('SIGUSR2');
      });
    const deep = notChain(3000);
    const rejectMany = async (count: number) => {
      for (let done = 0; done < count; done += 50) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            call(probed, i % 2 ? 'chat' : 'search_relevant_content', {
              ...(i % 2 ? { message: 'hi' } : { query: 'office' }),
              attributeFilter: deep,
            }),
          ),
        );
        // Refused either way (without the guard, as a stack overflow): the heap tells the difference.
        for (const a of answers) expect(a.isError, a.text).toBe(true);
      }
    };
    // Warm up: lazily loaded code, the identity exchange, one real search.
    expect((await call(probed, 'search_relevant_content', { query: 'VPN', maxResults: 1 })).isError).toBe(
      false,
    );
    await rejectMany(500);
    const before = await heapUsed();
    await rejectMany(4000);
    const after = await heapUsed();
    console.log(
      `heapUsed after full GC: ${(before / 1e6).toFixed(1)} MB before, ${(after / 1e6).toFixed(1)} MB after 4,000 rejected calls`,
    );
    expect(after, `readings ${readings.join(', ')}`).toBeLessThanOrEqual(before * 1.1);
    expect(probed.child.exitCode).toBeNull();
  }, 300_000);
});
