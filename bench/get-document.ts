/**
 * @module Benchmark: get_document's cost against the document's size, through the built server over
 * stdio (its own process) against the sandbox (in this process, which adds one large document to its
 * corpus). Interleaved rounds of:
 * - a 20,000-character window (offset 0) of a 4.2 MB document against the same call on a 2 KB one;
 * - reading the 4.2 MB document to the end in 50,000-character windows, against one download of it
 *   (the first window after the cache entry expired: download + parse + the window);
 * and, to split a window's time, interleaved batches of the bare GetDocumentContent call (the ACL check
 * every window makes, from this process), `whoami` (the MCP round trip without a Q call) and a
 * 100-character window of the large document.
 *
 * Usage: npx tsx bench/get-document.ts [--rounds 5 --batch 20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { corpus } from '../tools/sandbox/corpus/index.js';
import { startSandbox } from '../tools/sandbox/index.js';
import { ROOT, ensureBuilt } from '../tools/ensure-built.js';
import { benchServer, rawGetDocumentContent } from './stdio-server.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, batch: { type: 'string', default: '20' } },
});
const rounds = Number(values.rounds);
const batch = Number(values.batch);
const SMALL = 'guide-holiday-calendar-2026';
const LARGE = 'bench-large-document';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const r3 = (x: number) => Number(x.toFixed(3));

// A 4.2 MB plain-text document everyone may read, built from a real one's paragraphs.
const docs = corpus();
const small = docs.find((d) => d.id === SMALL)!;
const paragraphs: string[] = [];
for (let size = 0, i = 0; size < 4_200_000; i++) {
  const p = `${i}. ${small.body[i % small.body.length]}`;
  paragraphs.push(p);
  size += p.length + 2;
}
docs.push({ ...small, id: LARGE, title: 'Large document (bench)', body: paragraphs });

const sandbox = await startSandbox();
await ensureBuilt();
const d = sandbox.description;
const clients: Client[] = [];
try {
  const server = await benchServer(d, 'doc');
  const connect = async () => {
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: server.args(),
        env: await server.env(),
        stderr: 'ignore',
      }),
    );
    clients.push(client);
    return client;
  };
  const read = async (client: Client, documentId: string, offset: number, maxChars: number) => {
    const result = await client.callTool({
      name: 'get_document',
      arguments: { documentId, offset, maxChars },
    });
    if (result.isError) throw new Error(JSON.stringify(result.content).slice(0, 300));
    return result.structuredContent as { nextOffset?: number; totalChars: number };
  };
  const timed = async (fn: () => Promise<unknown>) => {
    const t0 = performance.now();
    await fn();
    return performance.now() - t0;
  };

  const raw = await rawGetDocumentContent(d);
  const client = await connect();
  const totalChars = (await read(client, LARGE, 0, 100)).totalChars;
  await read(client, SMALL, 0, 100);
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    // A window of each, cached (the entries were read just before): interleaved calls.
    const largeWindow: number[] = [];
    const smallWindow: number[] = [];
    for (let i = 0; i < batch; i++) {
      const first = (i + r) % 2 === 0;
      const a = await timed(() => read(client, first ? LARGE : SMALL, 0, 20_000));
      const b = await timed(() => read(client, first ? SMALL : LARGE, 0, 20_000));
      largeWindow.push(first ? a : b);
      smallWindow.push(first ? b : a);
    }
    // The split of a window: Q's ACL check alone, the MCP round trip alone, and a window of 100 characters.
    const split: Record<'acl' | 'whoami' | 'tiny', number[]> = { acl: [], whoami: [], tiny: [] };
    const arms = {
      acl: () => raw.get(LARGE),
      whoami: () => client.callTool({ name: 'whoami', arguments: {} }),
      tiny: () => read(client, LARGE, 1_000_000, 100),
    };
    const order = ['acl', 'whoami', 'tiny'] as const;
    for (let i = 0; i < batch; i++) {
      for (let k = 0; k < order.length; k++) {
        const arm = order[(k + i + r) % order.length]!;
        split[arm].push(await timed(arms[arm]));
      }
    }
    // One download: a fresh server's first read of the large document (nothing cached there).
    const fresh = await connect();
    await read(fresh, SMALL, 0, 100); // exchange done, so the timing below is the document alone
    const oneDownload = await timed(() => read(fresh, LARGE, 0, 50_000));
    // Reading to the end on that server: the first window above downloaded it.
    const toTheEnd = await timed(async () => {
      let offset: number | undefined = 50_000;
      while (offset !== undefined) offset = (await read(fresh, LARGE, offset, 50_000)).nextOffset;
    });
    await fresh.close();
    const row = {
      largeWindowP50Ms: r3(median(largeWindow)),
      smallWindowP50Ms: r3(median(smallWindow)),
      windowRatio: r3(median(largeWindow) / median(smallWindow)),
      oneDownloadMs: r3(oneDownload),
      readToTheEndMs: r3(oneDownload + toTheEnd),
      readToTheEndRatio: r3((oneDownload + toTheEnd) / oneDownload),
      perWindowMs: r3(toTheEnd / (Math.ceil(totalChars / 50_000) - 1)),
      aclCheckP50Ms: r3(median(split.acl)),
      whoamiP50Ms: r3(median(split.whoami)),
      tinyWindowP50Ms: r3(median(split.tiny)),
    };
    process.stderr.write(`round ${r + 1}/${rounds}: ${JSON.stringify(row)}\n`);
    perRound.push(row);
  }
  raw.destroy();
  const result = {
    benchmark: 'get-document',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    loadAverage: loadavg().map(r3),
    largeDocumentChars: totalChars,
    windows: Math.ceil(totalChars / 50_000),
    rounds: perRound,
    median: {
      windowRatio: r3(median(perRound.map((x) => x.windowRatio))),
      readToTheEndRatio: r3(median(perRound.map((x) => x.readToTheEndRatio))),
    },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/get-document.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  await sandbox.stop();
}
