/**
 * @module Streamed chats reuse the Q client's HTTP/2 session instead of opening a connection each (the
 * SDK's handler isolates event streams unless told otherwise), through the built CLI over stdio
 * against the sandbox, which counts the HTTP/2 sessions it accepts; a stream cut mid-answer leaves
 * the next calls working; and the session grants the emulator a wide connection window (src/q/transport.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt, startServer, text, type ServerUnderTest } from './harness.js';

const sandbox = useSandbox();
const SESSIONS = 'aws:http2-sessions';
const PEER_WINDOW = 'aws:http2-peer-window-max';

describe('streamed chat connections', () => {
  let alice: ServerUnderTest;
  beforeAll(async () => {
    await ensureBuilt();
    alice = await startServer(sandbox(), { username: 'alice' });
  }, 120_000);
  afterAll(async () => {
    await alice?.close();
  });

  const sessions = async () => (await alice.control.counters())[SESSIONS] ?? 0;
  const search = () =>
    alice.client.callTool({ name: 'search_relevant_content', arguments: { query: 'VPN', maxResults: 3 } });
  const streamChat = () => {
    let progress = 0;
    const call = alice.client.callTool(
      { name: 'chat', arguments: { message: 'What is the travel reimbursement limit?' } },
      { onprogress: () => void progress++ },
    );
    return call.then((result) => ({ result, progress }));
  };

  it('streams three chats over the session the searches use', async () => {
    expect((await search()).isError).toBeFalsy();
    const before = await sessions();
    expect(before).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      const { result, progress } = await streamChat();
      expect(result.isError, text(result)).toBeFalsy();
      expect(progress).toBeGreaterThan(0);
    }
    expect((await search()).isError).toBeFalsy();
    expect(await sessions()).toBe(before);
  });

  it('keeps serving after a stream is cut mid-answer', async () => {
    await alice.control.setFault('qbusiness:Chat', { cutStream: 1 });
    try {
      expect((await streamChat()).result.isError).toBe(true);
    } finally {
      await alice.control.clearFaults();
    }
    const { result } = await streamChat();
    expect(result.isError, text(result)).toBeFalsy();
    expect((await search()).isError).toBeFalsy();
  });

  it("opens its session with a connection window wider than HTTP/2's 64 KiB", async () => {
    // Read by the emulator as each stream starts, so the second call sees the first one's update.
    for (let i = 0; i < 2; i++) expect((await search()).isError).toBeFalsy();
    const granted = (await alice.control.counters())[PEER_WINDOW] ?? 0;
    expect(granted, 'the window the Q client granted the emulator').toBeGreaterThan(4 * 1024 * 1024);
  });
});
