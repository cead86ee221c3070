/**
 * @module get_document's cache of extracted text, through the built CLI over stdio against the
 * sandbox: reading a document window by window to the end downloads it once while every window still
 * asks Q (GetDocumentContent, the ACL check); a user who loses access meets the refusal although the
 * text is cached. (Entries per user among many users: test/http/document-cache.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpus } from '../../tools/sandbox/corpus/index.js';
import { useSandbox } from '../helpers/sandbox.js';
import { ensureBuilt, startServer, structured, text, type ServerUnderTest } from './harness.js';

const sandbox = useSandbox();
const DOC = 'guide-holiday-calendar-2026';
const counter = async (s: ServerUnderTest, name: string) => (await s.control.counters())[name] ?? 0;

interface Window {
  text: string;
  offset: number;
  totalChars: number;
  nextOffset?: number;
}

describe('get_document cache', () => {
  let alice: ServerUnderTest;
  let bob: ServerUnderTest;

  beforeAll(async () => {
    await ensureBuilt();
    [alice, bob] = await Promise.all([
      startServer(sandbox(), { username: 'alice' }),
      startServer(sandbox(), { username: 'bob' }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
  });

  const read = async (s: ServerUnderTest, args: Record<string, unknown>) => {
    const result = await s.client.callTool({ name: 'get_document', arguments: { documentId: DOC, ...args } });
    return { result, window: structured<Window>(result) };
  };

  it('downloads a document once while reading it to the end; Q is asked for every window', async () => {
    const downloads = await counter(alice, 'download:EXTRACTED');
    const asked = await counter(alice, 'qbusiness:GetDocumentContent');
    const { window: whole } = await read(bob, {});
    let offset: number | undefined = 0;
    let joined = '';
    let windows = 0;
    while (offset !== undefined) {
      const { result, window } = await read(alice, { offset, maxChars: 100 });
      expect(result.isError, text(result)).toBeFalsy();
      joined += window.text;
      offset = window.nextOffset;
      windows++;
    }
    expect(windows).toBeGreaterThan(3);
    expect(joined).toBe(whole.text);
    // One for bob's whole read, one for all of alice's windows.
    expect(await counter(alice, 'download:EXTRACTED')).toBe(downloads + 2);
    expect(await counter(alice, 'qbusiness:GetDocumentContent')).toBeGreaterThanOrEqual(asked + windows + 1);
  });

  it('refuses a user who lost access, although the text is cached', async () => {
    const doc = corpus().find((d) => d.id === DOC)!;
    const acl = doc.acl;
    const first = await read(alice, { maxChars: 100, offset: 100 });
    expect(first.result.isError).toBeFalsy();
    doc.acl = { users: ['nobody@example.com'] };
    try {
      const { result } = await read(alice, { maxChars: 100, offset: 100 });
      expect(result.isError).toBe(true);
      expect(text(result)).toMatch(/get_document failed/);
      expect(text(result)).not.toContain(first.window.text);
    } finally {
      doc.acl = acl;
    }
    expect((await read(alice, { maxChars: 100, offset: 100 })).result.isError).toBeFalsy();
  });
});
