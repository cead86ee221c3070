/**
 * @module MCP log notifications per protocol era, through the built CLI over stdio: a 2025-11-25 session
 * gets them all until `logging/setLevel` says otherwise, a 2026-07-28 request gets them only when its
 * `_meta` asks for a level (and at that level). The stderr log is the same in both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { META } from '../helpers/eras.js';
import { eventually } from '../helpers/eventually.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt, startServer, type ServerUnderTest } from './harness.js';

const sandbox = useSandbox();
let legacy: ServerUnderTest;
let modern: ServerUnderTest;

beforeAll(async () => {
  await ensureBuilt();
  [legacy, modern] = await Promise.all([
    startServer(sandbox(), { era: 'legacy' }),
    // No level asked for unless a call says so.
    startServer(sandbox(), { era: 'modern', logLevel: null }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all([legacy?.close(), modern?.close()]);
});

/** A caller error (a document alice may not read), logged at info; `meta` goes into its `_meta`. */
async function refusedRead(s: ServerUnderTest, meta?: Record<string, unknown>): Promise<void> {
  const result = await s.client.callTool({
    name: 'get_document',
    arguments: { documentId: 'review-bob-berg-2025' },
    ...(meta ? { _meta: meta } : {}),
  });
  expect(result.isError).toBe(true);
  // One more call: a notification written before a result may be dispatched just after it.
  await s.client.callTool({ name: 'whoami', arguments: {} });
}
const infoLogs = (s: ServerUnderTest) =>
  (s.logs as Array<{ level: string; data: { code?: string } }>).filter(
    (l) => l.level === 'info' && l.data.code === 'q_not_found',
  ).length;

describe('2025-11-25: logging/setLevel', () => {
  it('sends every level until the client sets one, then only that level and above', async () => {
    await refusedRead(legacy);
    expect(infoLogs(legacy)).toBe(1);
    await legacy.client.setLoggingLevel('error');
    await refusedRead(legacy);
    expect(infoLogs(legacy)).toBe(1);
    await legacy.client.setLoggingLevel('info');
    await refusedRead(legacy);
    expect(infoLogs(legacy)).toBe(2);
  });
});

describe("2026-07-28: the request's _meta", () => {
  it('sends nothing when the request asks for no level, and only what its level lets through', async () => {
    await refusedRead(modern);
    await refusedRead(modern, { [META.logLevel]: 'error' });
    expect(modern.logs).toEqual([]);
    await refusedRead(modern, { [META.logLevel]: 'info' });
    expect(infoLogs(modern)).toBe(1);
  });
});

describe('stderr', () => {
  it('logs the same line in both eras, whatever the client asked for', async () => {
    const count = (s: ServerUnderTest) =>
      s
        .stderr()
        .split('\n')
        .filter((l) => l.includes('"code":"q_not_found"')).length;
    // stderr is its own pipe: its lines may still be on the way.
    for (const s of [legacy, modern]) expect(await eventually(async () => count(s) === 3)).toBe(true);
  });
});
