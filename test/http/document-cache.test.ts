/**
 * @module get_document's cache of extracted text among many users of one HTTP server (bearer mode):
 * each user's windows come from that user's own download, never from another user's entry, and a user
 * reading a document to the end downloads it once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { bearerConfig, connect, startBearerServer } from './harness.js';

const sandbox = useSandbox();
const DOC = 'guide-holiday-calendar-2026';
let server: HttpServerHandle;

beforeAll(async () => {
  server = await startBearerServer(sandbox(), bearerConfig(sandbox(), 'idc', { http: { stateless: true } }));
});
afterAll(async () => {
  await server?.close();
});

const control = () => controlClient(sandbox().description.control);
const downloads = async () => (await control().counters())['download:EXTRACTED'] ?? 0;
const userClient = async (username: string) => {
  const token = await control().mintAccessToken({ username });
  return (await connect(server.url, token)).client;
};

/** Reads the document to the end in 100-character windows; returns the text and the window count. */
async function readAll(client: Client): Promise<{ text: string; windows: number }> {
  let offset: number | undefined = 0;
  let text = '';
  let windows = 0;
  while (offset !== undefined) {
    const result = await client.callTool({
      name: 'get_document',
      arguments: { documentId: DOC, offset, maxChars: 100 },
    });
    expect(result.isError).toBeFalsy();
    const window = result.structuredContent as { text: string; nextOffset?: number };
    text += window.text;
    offset = window.nextOffset;
    windows++;
  }
  return { text, windows };
}

describe('get_document cache over HTTP', () => {
  it("downloads once per user, never serving one user from another's entry", async () => {
    const [alice, bob] = await Promise.all([userClient('alice'), userClient('bob')]);
    try {
      const before = await downloads();
      const a = await readAll(alice);
      expect(await downloads()).toBe(before + 1);
      const b = await readAll(bob);
      expect(a.windows).toBeGreaterThan(3);
      expect(b.text).toBe(a.text);
      // Bob's windows came from his own download.
      expect(await downloads()).toBe(before + 2);
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  });
});
