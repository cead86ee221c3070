/**
 * @module The upstream timeout (q.timeoutSeconds), through the built CLI over stdio with a 2 s setting:
 * a Q call that stays silent is aborted with a retryable q_timeout and is not repeated behind the
 * caller's back; a Chat stream is timed per event (until the first one, then between events), so a
 * stream that keeps talking may take longer in total. The server serves normally afterwards.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt, startServer, structured, text, type ServerUnderTest } from './harness.js';

const sandbox = useSandbox();
let alice: ServerUnderTest;

beforeAll(async () => {
  await ensureBuilt();
  alice = await startServer(sandbox(), { username: 'alice', overrides: { q: { timeoutSeconds: 2 } } });
}, 120_000);

afterAll(async () => {
  await alice?.close();
});

beforeEach(async () => {
  await alice.control.clearFaults();
});

/** Far beyond the 2 s limit: the sandbox answers only after the call was given up. */
const SILENT_MS = 6000;
const counter = async (name: string) => (await alice.control.counters())[name] ?? 0;
const search = () =>
  alice.client.callTool({ name: 'search_relevant_content', arguments: { query: 'VPN', maxResults: 3 } });
const chat = (streaming: boolean) =>
  alice.client.callTool(
    { name: 'chat', arguments: { message: 'What is the travel reimbursement limit?' } },
    streaming ? { onprogress: () => undefined } : {},
  );

function expectTimeout(result: unknown, phrase: RegExp) {
  const r = result as { isError?: boolean };
  expect(r.isError, text(result)).toBe(true);
  expect(text(result)).toMatch(phrase);
  expect(text(result)).toMatch(/q_timeout/);
  expect(text(result)).toMatch(/Retrying may help/);
}

describe('q.timeoutSeconds', () => {
  it('aborts a silent SearchRelevantContent once, with a retryable q_timeout, and serves on', async () => {
    const before = await counter('qbusiness:SearchRelevantContent');
    await alice.control.setFault('qbusiness:SearchRelevantContent', { latencyMs: SILENT_MS });
    expectTimeout(await search(), /SearchRelevantContent did not answer within 2 s/);
    expect(await counter('qbusiness:SearchRelevantContent')).toBe(before + 1);
    await alice.control.clearFaults();
    const again = await search();
    expect(again.isError, text(again)).toBeFalsy();
  });

  it('aborts a silent ChatSync', async () => {
    await alice.control.setFault('qbusiness:ChatSync', { latencyMs: SILENT_MS });
    expectTimeout(await chat(false), /ChatSync did not answer within 2 s/);
  });

  it('aborts a Chat stream whose first event does not come', async () => {
    await alice.control.setFault('qbusiness:Chat', { latencyMs: SILENT_MS });
    expectTimeout(await chat(true), /Chat did not answer within 2 s/);
  });

  it('aborts a Chat stream that falls silent part-way through the answer', async () => {
    await alice.control.setFault('qbusiness:Chat', { stallMs: SILENT_MS });
    expectTimeout(await chat(true), /Chat sent nothing for 2 s part-way through its answer/);
  });

  it('lets a Chat stream run longer than the limit in total while its events keep coming', async () => {
    // 1 s before the first event, 1 s after it, then the rest: over 2 s in all, no gap near it.
    await alice.control.setFault('qbusiness:Chat', { latencyMs: 1000, stallMs: 1000 });
    const result = await chat(true);
    expect(result.isError, text(result)).toBeFalsy();
    expect(structured<{ streamed: boolean }>(result).streamed).toBe(true);
  });
});
