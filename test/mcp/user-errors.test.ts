/**
 * @module Mistakes a caller makes, through the built CLI over raw stdio against the sandbox: they are
 * logged (stderr and MCP logging) at info, or warn where the server may share the blame, never at
 * error; each error text says once whether retrying helps; a malformed attributeFilter is answered
 * with the shape of a valid one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILTER_EXAMPLE } from '../../src/tools/attribute-filter.js';
import { wrapPageToken } from '../../src/tools/page-token.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt } from './harness.js';
import { spawnRaw, type RawServer } from './raw-server.js';

const sandbox = useSandbox();
let server: RawServer;

beforeAll(async () => {
  await ensureBuilt();
  server = await spawnRaw(sandbox(), { username: 'alice' });
}, 120_000);

afterAll(() => {
  server?.close();
});

async function call(name: string, args: Record<string, unknown>) {
  const message = await server.request('tools/call', { name, arguments: args });
  const result = message.result as { isError?: boolean; content: Array<{ text: string }> };
  return { isError: result.isError === true, text: result.content[0]!.text };
}

/** The server's stderr log line for a failed call with this code (waits for it to arrive). */
async function logLine(code: string): Promise<{ level: number; tool: string }> {
  const find = (stderr: string) =>
    stderr.split('\n').find((l) => l.includes(`"code":"${code}"`) && l.includes('"tool":'));
  await server.stderrUntil((stderr) => find(stderr) !== undefined);
  return JSON.parse(find(server.stderr())!) as { level: number; tool: string };
}

/** MCP logging notifications so far; a ping first, so that any sent before its answer are in. */
async function mcpLogs(): Promise<Array<{ level: string; data: { code?: string } }>> {
  await server.request('ping');
  return server.lines
    .map((l) => JSON.parse(l) as { method?: string; params?: unknown })
    .filter((m) => m.method === 'notifications/message')
    .map((m) => m.params as { level: string; data: { code?: string } });
}

const PINO = { info: 30, warn: 40, error: 50 };

describe('expected caller errors', () => {
  it('log a document the user may not read and a nextToken of another search at info', async () => {
    const hidden = await call('get_document', { documentId: 'review-bob-berg-2025' });
    expect(hidden.isError).toBe(true);
    expect(hidden.text).toContain('(code: q_not_found)');
    const token = wrapPageToken({ query: 'VPN' }, { qToken: 'anything', shown: 3 });
    const stale = await call('search_relevant_content', { query: 'travel', nextToken: token });
    expect(stale.isError).toBe(true);
    expect(stale.text).toMatch(/continues a different search[\s\S]*\(code: invalid_next_token\)/);

    expect(await logLine('q_not_found')).toMatchObject({ level: PINO.info, tool: 'get_document' });
    expect(await logLine('invalid_next_token')).toMatchObject({
      level: PINO.info,
      tool: 'search_relevant_content',
    });
    const logs = await mcpLogs();
    for (const code of ['q_not_found', 'invalid_next_token']) {
      expect(logs.filter((l) => l.data.code === code).map((l) => l.level)).toEqual(['info']);
    }
  });

  it('say once that retrying as-is will not help, when Q refuses a forged token (logged at warn)', async () => {
    const query = 'VPN';
    const forged = wrapPageToken({ query }, { qToken: 'not-a-q-token', shown: 0 });
    const answer = await call('search_relevant_content', { query, nextToken: forged });
    expect(answer.isError).toBe(true);
    expect(answer.text).toContain('(code: q_invalid_request)');
    expect(answer.text.match(/retrying as-is will not help/gi)).toHaveLength(1);
    expect(await logLine('q_invalid_request')).toMatchObject({ level: PINO.warn });
  });
});

describe('a malformed attributeFilter', () => {
  it('is answered with the shape of a valid one, for every kind of mistake', async () => {
    const leaf = { equalsTo: { name: 'department', value: { stringValue: 'finance' } } };
    const mistakes: Array<[unknown, RegExp]> = [
      [JSON.stringify(leaf), /attributeFilter: Invalid input: expected object, received string/],
      [{ department: 'finance' }, /attributeFilter: Unrecognized key: "department"/],
      [{ ...leaf, notFilter: leaf }, /attributeFilter: give exactly one operator per filter object/],
      [{ equalsTo: { name: 'department', value: 'finance' } }, /attributeFilter\.equalsTo\.value: /],
      [
        { andAllFilters: [{ equals: leaf.equalsTo }] },
        /attributeFilter\.andAllFilters\[0\]: Unrecognized key/,
      ],
    ];
    for (const [attributeFilter, said] of mistakes) {
      const answer = await call('search_relevant_content', { query: 'budget', attributeFilter });
      expect(answer.isError, JSON.stringify(attributeFilter)).toBe(true);
      expect(answer.text).toMatch(
        /^Input validation error: Invalid arguments for tool search_relevant_content: /,
      );
      expect(answer.text).toMatch(said);
      expect(answer.text).toContain(`A valid attributeFilter: ${FILTER_EXAMPLE}`);
    }
    // Other arguments' mistakes are not followed by a filter example.
    const other = await call('search_relevant_content', { query: 'budget', maxResults: 0 });
    expect(other.isError).toBe(true);
    expect(other.text).toMatch(/maxResults: /);
    expect(other.text).not.toContain('attributeFilter');
  });
});
