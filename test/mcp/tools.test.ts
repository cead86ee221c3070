/**
 * @module Every MCP tool through the built CLI over stdio against the sandbox: results under the user's
 * ACLs (two users, one query, different permitted answers), search text an agent can filter from,
 * citations numbered on across pages with a nextToken bound to its search, chat streaming with
 * progress, the conversation lifecycle (a second delete succeeds), document reading with offsets under
 * a citable heading, whoami, and the data-accessor tool list. Once per protocol era: a 2025-11-25
 * client (initialize) and a 2026-07-28 one (no handshake, `_meta` on every request) against one build.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapPageToken } from '../../src/tools/page-token.js';
import { UNKNOWN_PROGRESS } from '../helpers/eras.js';
import { useSandbox } from '../helpers/sandbox.js';
import {
  ERAS,
  ROOT,
  ensureBuilt,
  startServer,
  structured,
  text,
  type Era,
  type ServerUnderTest,
} from './harness.js';

const sandbox = useSandbox();

describe.each(ERAS)('%s era', (era: Era) => {
  let alice: ServerUnderTest;
  let bob: ServerUnderTest;

  beforeAll(async () => {
    await ensureBuilt();
    [alice, bob] = await Promise.all([
      startServer(sandbox(), { username: 'alice', era }),
      startServer(sandbox(), { username: 'bob', era }),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
  });

  interface Passage {
    n: number;
    documentId: string;
    title: string;
    content: string;
    uri?: string;
    attributes: Record<string, unknown>;
  }
  const search = async (s: ServerUnderTest, args: Record<string, unknown>) => {
    const result = await s.client.callTool({ name: 'search_relevant_content', arguments: args });
    expect(result.isError, text(result)).toBeFalsy();
    return { result, passages: structured<{ passages: Passage[]; nextToken?: string }>(result).passages };
  };

  describe('tool list', () => {
    it('offers every tool with a title, a description, bounded schemas and annotations', async () => {
      const { tools } = await alice.client.listTools();
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      expect(Object.keys(byName).sort()).toEqual(
        [
          'chat',
          'delete_conversation',
          'get_conversation',
          'get_document',
          'list_conversations',
          'put_feedback',
          'search_relevant_content',
          'whoami',
        ].sort(),
      );
      for (const t of tools) {
        expect(t.title, t.name).toBeTruthy();
        expect(t.description?.length, t.name).toBeGreaterThan(80);
        expect(t.outputSchema, t.name).toBeDefined();
        expect(t.annotations?.readOnlyHint, t.name).toBeTypeOf('boolean');
        expect(t.annotations?.openWorldHint, t.name).toBeTypeOf('boolean');
      }
      expect(byName.delete_conversation!.annotations).toMatchObject({
        destructiveHint: true,
        readOnlyHint: false,
      });
      expect(byName.search_relevant_content!.annotations).toMatchObject({ readOnlyHint: true });
      const props = byName.search_relevant_content!.inputSchema.properties as Record<
        string,
        Record<string, unknown>
      >;
      expect(props.maxResults).toMatchObject({ minimum: 1, maximum: 100 });
      expect(props.attributeFilter).toBeDefined();
    });
  });

  describe('search_relevant_content', () => {
    it('returns numbered, citable passages with title, URI, document id, confidence and attributes', async () => {
      const { result, passages } = await search(alice, {
        query: 'How do I connect to the VPN?',
        maxResults: 5,
      });
      expect(passages.length).toBeGreaterThan(0);
      expect(passages.length).toBeLessThanOrEqual(5);
      const first = passages[0]!;
      expect(first.n).toBe(1);
      expect(first.documentId).toBeTruthy();
      expect(first.uri).toMatch(/^https:\/\//);
      expect(Object.keys(first.attributes).length).toBeGreaterThan(0);
      expect(text(result)).toContain(`[1] ${first.title}`);
      expect(text(result)).toContain(first.documentId);
    });

    it('gives two users different results for one query, each only what they may read', async () => {
      const query = 'travel reimbursement limit';
      const [a, b] = await Promise.all([
        search(alice, { query, maxResults: 20 }),
        search(bob, { query, maxResults: 20 }),
      ]);
      const aliceDocs = a.passages.map((p) => p.documentId);
      const bobDocs = b.passages.map((p) => p.documentId);
      expect(aliceDocs).toContain('eng-conference-travel-guidelines');
      expect(aliceDocs).not.toContain('mgr-travel-approval-limits');
      expect(aliceDocs).not.toContain('fin-travel-audit-procedure');
      expect(bobDocs).not.toContain('eng-conference-travel-guidelines');
      expect(
        bobDocs.some((d) => d === 'mgr-travel-approval-limits' || d === 'fin-travel-audit-procedure'),
      ).toBe(true);
    });

    it("never shows another user's restricted document, in search, chat sources or get_document", async () => {
      const { passages } = await search(alice, {
        query: 'performance review 2025 Bob Berg rating',
        maxResults: 50,
      });
      const ids = passages.map((p) => p.documentId);
      expect(ids).not.toContain('review-bob-berg-2025');

      const chat = await alice.client.callTool({
        name: 'chat',
        arguments: { message: "What was Bob Berg's 2025 performance review rating?" },
      });
      expect(JSON.stringify(chat)).not.toContain('review-bob-berg-2025');

      const doc = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: 'review-bob-berg-2025' },
      });
      expect(doc.isError).toBe(true);
      expect(text(doc)).toMatch(/get_document failed/);

      const own = await bob.client.callTool({
        name: 'get_document',
        arguments: { documentId: 'review-bob-berg-2025' },
      });
      expect(own.isError, text(own)).toBeFalsy();
      // The EXTRACTED JSON (AWS's documented V1 schema) comes back as the document's text, not as JSON.
      expect(text(own)).toContain('Overall rating: Meets Expectations.');
      expect(text(own)).not.toContain('nonPlainTextDocumentContent');
      const plain = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: 'guide-holiday-calendar-2026' },
      });
      expect(plain.isError, text(plain)).toBeFalsy();
      expect(text(plain)).toContain("United States holidays in 2026: New Year's Day (January 1)");
      expect(text(plain)).not.toContain('plainTextDocumentContent');
    });

    it('applies an attribute filter in Q grammar', async () => {
      const { passages } = await search(alice, {
        query: 'office',
        maxResults: 20,
        attributeFilter: { equalsTo: { name: '_category', value: { stringValue: 'office guide' } } },
      });
      expect(passages.length).toBeGreaterThan(0);
      for (const p of passages) expect(p.attributes._category).toBe('office guide');
    });

    it('pages with nextToken', async () => {
      const first = await search(alice, { query: 'policy', maxResults: 2 });
      const token = structured<{ nextToken?: string }>(first.result).nextToken;
      expect(token).toBeTruthy();
      const second = await search(alice, { query: 'policy', maxResults: 2, nextToken: token });
      expect(second.passages.length).toBeGreaterThan(0);
      expect(second.passages.map((p) => p.documentId + p.content)).not.toEqual(
        first.passages.map((p) => p.documentId + p.content),
      );
    });

    it("shows each passage's attributes in the text, as values an attributeFilter takes", async () => {
      const { result, passages } = await search(alice, { query: 'office guide', maxResults: 5 });
      const shown = text(result);
      const first = passages[0]!;
      for (const name of ['_category', 'department', 'tags', 'word_count', '_created_at']) {
        expect(shown, name).toContain(`${name}=${JSON.stringify(first.attributes[name])}`);
      }
      // An agent that read only the text filters on what it saw.
      const category = /_category="([^"]+)"/.exec(shown)![1]!;
      const filtered = await search(alice, {
        query: 'office guide',
        attributeFilter: { equalsTo: { name: '_category', value: { stringValue: category } } },
      });
      expect(filtered.passages.length).toBeGreaterThan(0);
      for (const p of filtered.passages) expect(p.attributes._category).toBe(category);
    });

    it('numbers citations on across pages, and a nextToken continues only its own search', async () => {
      const args = { query: 'policy', maxResults: 3 };
      const one = await search(alice, args);
      const token1 = structured<{ nextToken: string }>(one.result).nextToken;
      const two = await search(alice, { ...args, nextToken: token1 });
      const token2 = structured<{ nextToken: string }>(two.result).nextToken;
      const three = await search(alice, { ...args, nextToken: token2 });
      expect(one.passages.map((p) => p.n)).toEqual([1, 2, 3]);
      expect(two.passages.map((p) => p.n)).toEqual([4, 5, 6]);
      expect(three.passages[0]!.n).toBe(7);
      expect(text(two.result)).toContain(`[4] ${two.passages[0]!.title}`);
      expect(text(two.result)).not.toMatch(/^\[1\] /m);

      const otherQuery = await alice.client.callTool({
        name: 'search_relevant_content',
        arguments: { query: 'travel', maxResults: 3, nextToken: token1 },
      });
      expect(otherQuery.isError).toBe(true);
      expect(text(otherQuery)).toMatch(
        /nextToken continues a different search.*another query or attributeFilter/,
      );
      const otherFilter = await alice.client.callTool({
        name: 'search_relevant_content',
        arguments: {
          ...args,
          nextToken: token1,
          attributeFilter: { equalsTo: { name: 'department', value: { stringValue: 'hr' } } },
        },
      });
      expect(text(otherFilter)).toMatch(/nextToken continues a different search/);
      // Key order does not make a filter another search.
      const filter = { equalsTo: { value: { stringValue: 'office guide' }, name: '_category' } };
      const f1 = await search(alice, { query: 'office', maxResults: 1, attributeFilter: filter });
      const reordered = { equalsTo: { name: '_category', value: { stringValue: 'office guide' } } };
      const f2 = await search(alice, {
        query: 'office',
        maxResults: 1,
        attributeFilter: reordered,
        nextToken: structured<{ nextToken: string }>(f1.result).nextToken,
      });
      expect(f2.passages[0]!.n).toBe(2);

      const [, count, hash, ...rest] = token1.split('.');
      const qToken = rest.join('.');
      const refusals: Array<[string, RegExp]> = [
        [qToken, /nextToken is not one that search_relevant_content returned/],
        [
          `p1.${count}.${hash!.startsWith('A') ? 'B' : 'A'}${hash!.slice(1)}.${qToken}`,
          /continues a different search/,
        ],
        // Past six digits the count is not ours.
        [`p1.10000000.${hash}.${qToken}`, /nextToken is not one that search_relevant_content returned/],
      ];
      for (const [nextToken, said] of refusals) {
        const answer = await alice.client.callTool({
          name: 'search_relevant_content',
          arguments: { ...args, nextToken },
        });
        expect(answer.isError, nextToken).toBe(true);
        expect(text(answer)).toMatch(said);
      }
      // A forged count within bounds only renumbers: Q still checks its own token.
      const forged = await search(alice, { ...args, nextToken: wrapPageToken(args, { qToken, shown: 41 }) });
      expect(forged.passages.map((p) => p.n)).toEqual([42, 43, 44]);
    });
  });

  interface ChatOut {
    answer: string;
    conversationId: string;
    systemMessageId?: string;
    sources: Array<{ title: string; documentId?: string; citationNumber?: number }>;
    streamed: boolean;
  }

  describe('chat and conversations', () => {
    it('answers with sources and continues, lists, reads, rates and deletes the conversation', async () => {
      const first = await alice.client.callTool({
        name: 'chat',
        arguments: { message: 'What is the on-call escalation policy?' },
      });
      expect(first.isError, text(first)).toBeFalsy();
      const one = structured<ChatOut>(first);
      expect(one.streamed).toBe(false);
      expect(one.answer.length).toBeGreaterThan(0);
      expect(one.sources.length).toBeGreaterThan(0);
      expect(one.conversationId).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9-]{35}$/);
      expect(text(first)).toContain('Sources:');
      expect(text(first)).toContain(one.conversationId);
      expect(text(first)).toContain(
        `call put_feedback with conversationId "${one.conversationId}" and messageId "${one.systemMessageId}" (the systemMessageId)`,
      );

      const second = await alice.client.callTool({
        name: 'chat',
        arguments: {
          message: 'And who gets paged after the secondary?',
          conversationId: one.conversationId,
          parentMessageId: one.systemMessageId,
        },
      });
      expect(second.isError, text(second)).toBeFalsy();
      expect(structured<ChatOut>(second).conversationId).toBe(one.conversationId);

      const list = await alice.client.callTool({ name: 'list_conversations', arguments: { maxResults: 50 } });
      const conversations = structured<{ conversations: Array<{ conversationId: string }> }>(
        list,
      ).conversations;
      expect(conversations.map((c) => c.conversationId)).toContain(one.conversationId);

      const bobList = await bob.client.callTool({ name: 'list_conversations', arguments: {} });
      expect(JSON.stringify(bobList)).not.toContain(one.conversationId);

      const read = await alice.client.callTool({
        name: 'get_conversation',
        arguments: { conversationId: one.conversationId },
      });
      const messages = structured<{ messages: Array<{ type: string; body: string }> }>(read).messages;
      expect(messages.length).toBe(4);
      expect(messages.filter((m) => m.type === 'USER').map((m) => m.body)).toContain(
        'What is the on-call escalation policy?',
      );

      const feedback = await alice.client.callTool({
        name: 'put_feedback',
        arguments: {
          conversationId: one.conversationId,
          messageId: one.systemMessageId,
          usefulness: 'USEFUL',
          reason: 'HELPFUL',
          comment: 'clear answer',
        },
      });
      expect(feedback.isError, text(feedback)).toBeFalsy();
      expect(structured(feedback)).toMatchObject({ recorded: true });

      const del = await alice.client.callTool({
        name: 'delete_conversation',
        arguments: { conversationId: one.conversationId },
      });
      expect(del.isError, text(del)).toBeFalsy();
      expect(structured(del)).toEqual({ conversationId: one.conversationId, deleted: true });
      // Idempotent as annotated: deleting it again (Q: ResourceNotFoundException) is success, said as such.
      const again = await alice.client.callTool({
        name: 'delete_conversation',
        arguments: { conversationId: one.conversationId },
      });
      expect(again.isError, text(again)).toBeFalsy();
      expect(structured(again)).toEqual({
        conversationId: one.conversationId,
        deleted: true,
        alreadyGone: true,
      });
      expect(text(again)).toMatch(/already gone/);
      const after = await alice.client.callTool({
        name: 'list_conversations',
        arguments: { maxResults: 50 },
      });
      expect(JSON.stringify(structured(after))).not.toContain(one.conversationId);
      const gone = await alice.client.callTool({
        name: 'get_conversation',
        arguments: { conversationId: one.conversationId },
      });
      expect(gone.isError).toBe(true);
      expect(text(gone)).toMatch(/not found/i);
    });

    it('streams a long answer through progress notifications before the result', async () => {
      const control = alice.control;
      await control.setFault('qbusiness:Chat', { latencyMs: 300 });
      const events: Array<{ kind: 'progress'; message?: string } | { kind: 'result' }> = [];
      try {
        const result = await alice.client.callTool(
          { name: 'chat', arguments: { message: 'Explain the travel reimbursement limit in detail.' } },
          {
            onprogress: (p) => events.push({ kind: 'progress', message: p.message }),
            resetTimeoutOnProgress: true,
          },
        );
        events.push({ kind: 'result' });
        expect(result.isError, text(result)).toBeFalsy();
        const out = structured<ChatOut>(result);
        expect(out.streamed).toBe(true);
        const progress = events.filter((e) => e.kind === 'progress');
        expect(progress.length).toBeGreaterThan(1);
        expect(events.at(-1)).toEqual({ kind: 'result' });
        const last = progress.at(-1) as { message?: string };
        expect(out.answer.startsWith(last.message ?? '\u0000')).toBe(true);
        const counters = await control.counters();
        expect(counters['qbusiness:Chat']).toBeGreaterThan(0);
      } finally {
        await control.clearFaults();
      }
    });
  });

  describe('get_document', () => {
    it("heads the text with the title and URI a search gave, and reports the document's own type", async () => {
      for (const [documentId, mimeType, query] of [
        ['guide-holiday-calendar-2026', 'text/plain', 'holiday calendar 2026'],
        ['eng-oncall-escalation-policy', 'text/html', 'on-call escalation policy PagerDuty'],
      ] as const) {
        const { passages } = await search(alice, { query, maxResults: 10 });
        const seen = passages.find((p) => p.documentId === documentId)!;
        expect(seen, documentId).toBeDefined();
        const result = await alice.client.callTool({
          name: 'get_document',
          arguments: { documentId, maxChars: 200 },
        });
        expect(result.isError, text(result)).toBeFalsy();
        expect(structured(result)).toMatchObject({ documentId, title: seen.title, uri: seen.uri, mimeType });
        expect(text(result).split('\n')[0]).toBe(`"${seen.title}" — ${seen.uri}`);
        expect(text(result)).toContain(`documentId: ${documentId} · ${mimeType}`);
      }
    });

    it('returns the extracted text in bounded windows with the offset to read on', async () => {
      const whole = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: 'eng-oncall-escalation-policy' },
      });
      expect(whole.isError, text(whole)).toBeFalsy();
      const doc = structured<{ text: string; totalChars: number; nextOffset?: number }>(whole);
      expect(doc.text).toContain('PagerDuty');
      expect(doc.text).not.toMatch(/<[a-z]+>/);
      expect(doc.nextOffset).toBeUndefined();

      const part = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: 'eng-oncall-escalation-policy', maxChars: 100 },
      });
      const p1 = structured<{ text: string; totalChars: number; nextOffset?: number }>(part);
      expect(p1.text).toBe(doc.text.slice(0, 100));
      expect(p1.nextOffset).toBe(100);
      expect(text(part)).toContain('offset 100');
      const next = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: 'eng-oncall-escalation-policy', maxChars: 100, offset: p1.nextOffset },
      });
      expect(structured<{ text: string }>(next).text).toBe(doc.text.slice(100, 200));
    });

    it('takes the dataSourceId a passage names, and refuses a wrong one', async () => {
      const { result, passages } = await search(alice, {
        query: 'on-call escalation policy PagerDuty',
        maxResults: 5,
      });
      const hit = passages.find((p) => p.documentId === 'eng-oncall-escalation-policy')!;
      const dataSourceId = hit.attributes._data_source_id as string;
      expect(text(result)).toContain(`dataSourceId: ${dataSourceId}`);
      const ok = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: hit.documentId, dataSourceId, maxChars: 200 },
      });
      expect(ok.isError, text(ok)).toBeFalsy();
      const wrong = await alice.client.callTool({
        name: 'get_document',
        arguments: { documentId: hit.documentId, dataSourceId: '00000000-0000-4000-8000-000000000000' },
      });
      expect(wrong.isError).toBe(true);
    });
  });

  describe('whoami', () => {
    it('names the user, mode, application and retriever, and nothing secret', async () => {
      const result = await alice.client.callTool({ name: 'whoami', arguments: {} });
      const d = sandbox().description;
      expect(structured(result)).toMatchObject({
        signedIn: true,
        user: { email: 'alice@example.com', issuer: d.issuer },
        mode: 'idc',
        applicationId: d.modes.idc.applicationId,
        retrieverId: d.modes.idc.retrieverId,
      });
      const all = JSON.stringify(result);
      expect(all).not.toContain(alice.refreshToken);
      expect(all).not.toContain(d.modes.idc.baseCredentials.secretAccessKey);
      expect(all).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
    });
  });

  describe('delete_conversation', () => {
    it('still fails when what is missing is the application, not the conversation', async () => {
      const wrongApp = await startServer(sandbox(), {
        era,
        username: 'carol',
        overrides: { q: { applicationId: 'a0000000-0000-4000-8000-00000000dead' } },
      });
      try {
        const answer = await wrongApp.client.callTool({
          name: 'delete_conversation',
          arguments: { conversationId: 'c0000000-0000-4000-8000-000000000000' },
        });
        expect(answer.isError).toBe(true);
        expect(text(answer)).not.toMatch(/already gone/);
      } finally {
        await wrongApp.close();
      }
    });
  });

  describe('data-accessor mode', () => {
    it('lists only search and whoami, and search works under the tenant', async () => {
      const isv = await startServer(sandbox(), { mode: 'data-accessor', username: 'alice', era });
      try {
        const { tools } = await isv.client.listTools();
        expect(tools.map((t) => t.name).sort()).toEqual(['search_relevant_content', 'whoami']);
        const { passages } = await search(isv, { query: 'office guide', maxResults: 3 });
        expect(passages.length).toBeGreaterThan(0);
        const who = await isv.client.callTool({ name: 'whoami', arguments: {} });
        expect(structured(who)).toMatchObject({
          mode: 'data-accessor',
          tenantId: sandbox().description.modes.dataAccessor.tenantId,
        });
        await expect(isv.client.callTool({ name: 'chat', arguments: { message: 'hi' } })).rejects.toThrow(
          /Unknown tool "chat"/,
        );
      } finally {
        await isv.close();
      }
    });
  });

  describe('mcp.json.example', () => {
    it('is a client configuration whose command line this CLI serves', async () => {
      const example = JSON.parse(readFileSync(join(ROOT, 'mcp.json.example'), 'utf8')) as {
        mcpServers: Record<string, { command: string; args: string[]; env?: Record<string, string> }>;
      };
      const entry = example.mcpServers.qindex!;
      expect(entry.command).toBe('qindex-mcp');
      expect(entry.args[0]).toBe('serve');
      const s = await startServer(sandbox(), {
        era,
        username: 'dave',
        serveArgs: entry.args.slice(1),
        env: entry.env ?? {},
      });
      try {
        const who = await s.client.callTool({ name: 'whoami', arguments: {} });
        expect(structured(who)).toMatchObject({
          signedIn: true,
          profile: 'default',
          user: { email: 'dave@example.com' },
        });
      } finally {
        await s.close();
      }
    });
  });

  describe('stdout and stderr hygiene', () => {
    it('wrote only JSON-RPC to stdout and no secret to stderr', () => {
      for (const s of [alice, bob]) {
        // A progress notification the client dispatched after its result is the only acceptable
        // complaint (SDK issue #2580); a non-JSON-RPC stdout line would show up here otherwise.
        const errors = s.errors.map((e) => e.message).filter((m) => !UNKNOWN_PROGRESS.test(m));
        expect(errors).toEqual([]);
        const err = s.stderr();
        expect(err.length).toBeGreaterThan(0);
        expect(err).not.toContain(s.refreshToken);
        expect(err).not.toContain(sandbox().description.modes.idc.baseCredentials.secretAccessKey);
        expect(err).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      }
    });
  });
});
