/**
 * @module ChatSync, the Chat event stream, conversations, feedback and document content through the
 * unmodified QBusinessClient: same answers from both chat APIs, citations, ownership of
 * conversations, and no restricted content in answers, history or downloads.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ChatCommand,
  ChatSyncCommand,
  DeleteConversationCommand,
  GetDocumentContentCommand,
  ListConversationsCommand,
  ListMessagesCommand,
  PutFeedbackCommand,
  type ChatInputStream,
  type ChatOutputStream,
  type MessageUsefulnessFeedback,
} from '@aws-sdk/client-qbusiness';
import { useSandbox } from '../helpers/sandbox.js';
import { sessionFor, type UserSession } from '../helpers/credentials.js';
import { corpus } from '../../tools/sandbox/corpus/index.js';

const sandbox = useSandbox();
const TRAVEL = 'what is the travel reimbursement limit';

let alice: UserSession, bob: UserSession, carol: UserSession, dave: UserSession;

beforeAll(async () => {
  [alice, bob, carol, dave] = await Promise.all([
    sessionFor(sandbox(), 'alice', 'idc'),
    sessionFor(sandbox(), 'bob', 'idc'),
    sessionFor(sandbox(), 'carol', 'idc'),
    sessionFor(sandbox(), 'dave', 'idc'),
  ]);
});

afterEach(() => {
  vi.useRealTimers();
});

const chatSync = (
  s: UserSession,
  userMessage: string,
  extra: { conversationId?: string; parentMessageId?: string } = {},
) => s.q.send(new ChatSyncCommand({ applicationId: s.applicationId, userMessage, ...extra }));

async function* input(userMessage: string): AsyncIterable<ChatInputStream> {
  yield { configurationEvent: { chatMode: 'RETRIEVAL_MODE' } };
  yield { textEvent: { userMessage } };
  yield { endOfInputEvent: {} };
}

async function chatStream(
  s: UserSession,
  userMessage: string,
  extra: { conversationId?: string; parentMessageId?: string } = {},
) {
  const out = await s.q.send(
    new ChatCommand({ applicationId: s.applicationId, inputStream: input(userMessage), ...extra }),
  );
  const events: ChatOutputStream[] = [];
  for await (const ev of out.outputStream!) events.push(ev);
  return events;
}

describe('chat answers', () => {
  it('streams several text events then the metadata, with the same answer as ChatSync', async () => {
    const sync = await chatSync(alice, TRAVEL);
    const events = await chatStream(alice, TRAVEL);
    const texts = events.filter((e) => e.textEvent).map((e) => e.textEvent!);
    expect(texts.length).toBeGreaterThanOrEqual(3);
    expect(events.at(-1)?.metadataEvent).toBeDefined();
    expect(events.filter((e) => e.metadataEvent)).toHaveLength(1);
    const meta = events.at(-1)!.metadataEvent!;
    expect(texts.map((t) => t.systemMessage).join('')).toBe(meta.finalTextMessage);
    expect(meta.finalTextMessage).toBe(sync.systemMessage);
    expect(meta.sourceAttributions).toEqual(sync.sourceAttributions);
    expect(new Set(texts.map((t) => t.conversationId))).toEqual(new Set([meta.conversationId]));
    expect(meta.systemMessageId).toBe(texts[0]!.systemMessageId);
  });

  it('cites its sources with markers and segments that point into the answer', async () => {
    const out = await chatSync(alice, TRAVEL);
    const answer = out.systemMessage!;
    expect(answer).toContain('[1]');
    expect(out.sourceAttributions!.length).toBeGreaterThan(0);
    for (const a of out.sourceAttributions!) {
      expect(answer).toContain(`[${a!.citationNumber}]`);
      expect(a!.title && a!.url && a!.snippet).toBeTruthy();
      expect(a!.updatedAt).toBeInstanceOf(Date);
      const seg = a!.textMessageSegments![0]!;
      expect(answer.slice(seg.beginOffset, seg.endOffset)).toBe(seg.snippetExcerpt!.text);
    }
    expect(out.sourceAttributions!.map((a) => a!.documentId)).toContain('policy-travel-and-expense');
  });

  it('keeps restricted content out of answers and citations', async () => {
    const q = 'What are the salary bands for a Senior Software Engineer in 2026?';
    const [hr, other] = await Promise.all([chatSync(carol, q), chatSync(bob, q)]);
    expect(hr.systemMessage).toContain('$158,000');
    expect(hr.sourceAttributions!.map((a) => a!.documentId)).toContain('hr-salary-bands-2026');
    expect(other.systemMessage).not.toContain('$158,000');
    expect(other.sourceAttributions!.map((a) => a!.documentId)).not.toContain('hr-salary-bands-2026');
    const history = async (s: UserSession, conversationId: string) =>
      JSON.stringify(
        await s.q.send(new ListMessagesCommand({ applicationId: s.applicationId, conversationId })),
      );
    expect(await history(carol, hr.conversationId!)).toContain('$158,000');
    expect(await history(bob, other.conversationId!)).not.toMatch(/\$158,000|hr-salary-bands-2026/);
    const falcon = await chatSync(alice, 'Project Falcon acquisition of Northwind Analytics');
    expect(falcon.systemMessage).not.toMatch(/Northwind|310 million/);
    const streamed = await chatStream(alice, 'Project Falcon acquisition of Northwind Analytics');
    expect(JSON.stringify(streamed)).not.toMatch(/Northwind|310 million|project-falcon/);
  });
});

describe('conversations', () => {
  it('continues a conversation and lists its history for its owner only', async () => {
    const first = await chatSync(bob, TRAVEL);
    const second = await chatStream(bob, 'on-call escalation', {
      conversationId: first.conversationId,
      parentMessageId: first.systemMessageId,
    });
    expect(second.at(-1)!.metadataEvent!.conversationId).toBe(first.conversationId);
    const history = await bob.q.send(
      new ListMessagesCommand({ applicationId: bob.applicationId, conversationId: first.conversationId }),
    );
    expect(history.messages!.map((m) => m.type)).toEqual(['USER', 'SYSTEM', 'USER', 'SYSTEM']);
    expect(history.messages![0]!.body).toBe(TRAVEL);
    expect(history.messages![1]!.body).toBe(first.systemMessage);
    expect(history.messages![1]!.sourceAttribution).toEqual(first.sourceAttributions);
    expect(history.messages![0]!.time).toBeInstanceOf(Date);
    const paged = await bob.q.send(
      new ListMessagesCommand({
        applicationId: bob.applicationId,
        conversationId: first.conversationId,
        maxResults: 3,
      }),
    );
    expect(paged.messages).toHaveLength(3);
    const rest = await bob.q.send(
      new ListMessagesCommand({
        applicationId: bob.applicationId,
        conversationId: first.conversationId,
        nextToken: paged.nextToken,
      }),
    );
    expect(rest.messages!.map((m) => m.messageId)).toEqual([history.messages![3]!.messageId]);

    const list = await bob.q.send(new ListConversationsCommand({ applicationId: bob.applicationId }));
    expect(list.conversations!.map((c) => c.conversationId)).toContain(first.conversationId);
    const theirs = await alice.q.send(new ListConversationsCommand({ applicationId: alice.applicationId }));
    expect(theirs.conversations!.map((c) => c.conversationId)).not.toContain(first.conversationId);
  });

  it('answers ResourceNotFound to anyone touching another user’s conversation', async () => {
    const own = await chatSync(bob, TRAVEL);
    const app = alice.applicationId;
    const id = own.conversationId!;
    const notFound = { name: 'ResourceNotFoundException', resourceType: 'Conversation' };
    await expect(
      alice.q.send(new ListMessagesCommand({ applicationId: app, conversationId: id })),
    ).rejects.toMatchObject(notFound);
    await expect(
      alice.q.send(new DeleteConversationCommand({ applicationId: app, conversationId: id })),
    ).rejects.toMatchObject(notFound);
    await expect(
      chatSync(alice, 'hello', { conversationId: id, parentMessageId: own.systemMessageId }),
    ).rejects.toMatchObject(notFound);
    await expect(chatStream(alice, 'hello', { conversationId: id })).rejects.toMatchObject(notFound);
    await expect(
      alice.q.send(
        new PutFeedbackCommand({
          applicationId: app,
          conversationId: id,
          messageId: own.systemMessageId,
          messageUsefulness: { usefulness: 'USEFUL', submittedAt: new Date() },
        }),
      ),
    ).rejects.toMatchObject(notFound);
    // Still there for its owner, then gone once deleted.
    await bob.q.send(new ListMessagesCommand({ applicationId: app, conversationId: id }));
    await bob.q.send(new DeleteConversationCommand({ applicationId: app, conversationId: id }));
    await expect(
      bob.q.send(new ListMessagesCommand({ applicationId: app, conversationId: id })),
    ).rejects.toMatchObject(notFound);
  });

  it('records feedback on a message', async () => {
    const own = await chatSync(carol, TRAVEL);
    await carol.q.send(
      new PutFeedbackCommand({
        applicationId: carol.applicationId,
        conversationId: own.conversationId,
        messageId: own.systemMessageId,
        messageUsefulness: {
          usefulness: 'NOT_USEFUL',
          reason: 'NOT_COMPLETE',
          comment: 'missing the city limits',
          submittedAt: new Date(),
        },
      }),
    );
    expect(sandbox().state.q.feedback.at(-1)).toMatchObject({
      conversationId: own.conversationId,
      messageId: own.systemMessageId,
      usefulness: 'NOT_USEFUL',
      reason: 'NOT_COMPLETE',
      comment: 'missing the city limits',
    });
    await expect(
      carol.q.send(
        new PutFeedbackCommand({
          applicationId: carol.applicationId,
          conversationId: own.conversationId,
          messageId: '00000000-0000-4000-8000-000000000000',
          messageUsefulness: { usefulness: 'USEFUL', submittedAt: new Date() },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('validates feedback before looking up the conversation', async () => {
    // The SDK checks neither enums nor nested required members: the service answers ValidationException
    // for them, whether or not the conversation exists.
    for (const messageUsefulness of [
      { usefulness: 'MEH', submittedAt: new Date() },
      { usefulness: 'USEFUL' },
    ] as unknown as MessageUsefulnessFeedback[]) {
      await expect(
        carol.q.send(
          new PutFeedbackCommand({
            applicationId: carol.applicationId,
            conversationId: '00000000-0000-4000-8000-000000000000',
            messageId: '00000000-0000-4000-8000-000000000001',
            messageUsefulness,
          }),
        ),
      ).rejects.toMatchObject({ name: 'ValidationException', reason: 'FIELD_VALIDATION_FAILED' });
    }
  });
});

describe("the model's output bounds", () => {
  /** Smithy counts string length in code points. */
  const chars = (s: string | undefined) => Array.from(s ?? '').length;
  const within = (s: string | undefined, min: number, max: number, what: string) => {
    expect(chars(s), what).toBeGreaterThanOrEqual(min);
    expect(chars(s), what).toBeLessThanOrEqual(max);
  };

  it('lists a message body of at most MessageBody’s 1,000 characters, cut at a whole character', async () => {
    // 999 characters, then an astral one (two UTF-16 units) across the bound, then more: 1,500 in all.
    const long = `${'travel reimbursement limit '.repeat(37).slice(0, 999)}🧳${'x'.repeat(500)}`;
    expect(chars(long)).toBe(1500);
    const turn = await chatSync(dave, long);
    const { messages } = await dave.q.send(
      new ListMessagesCommand({ applicationId: dave.applicationId, conversationId: turn.conversationId }),
    );
    const [user, system] = messages!;
    expect(chars(user!.body)).toBe(1000);
    expect(user!.body).toBe(Array.from(long).slice(0, 1000).join(''));
    expect(user!.body!.endsWith('🧳')).toBe(true);
    // The answer itself always fits, so the history repeats it whole.
    expect(system!.body).toBe(turn.systemMessage);
    // Short bodies are untouched.
    const short = await chatSync(dave, TRAVEL);
    const again = await dave.q.send(
      new ListMessagesCommand({ applicationId: dave.applicationId, conversationId: short.conversationId }),
    );
    expect(again.messages![0]!.body).toBe(TRAVEL);
  });

  it('answers within the String and MessageBody bounds for every document of the corpus', async () => {
    const sessions = { alice, bob, carol, dave };
    const users = sandbox().world.users.filter((u) => u.username in sessions);
    let cited = 0;
    for (const doc of corpus().filter((d) => !d.applications)) {
      // Asked by someone who may read it, so the answer quotes it.
      const reader = users.find(
        (u) =>
          doc.acl.everyone ||
          doc.acl.users?.includes(u.email) ||
          doc.acl.groups?.some((g) => u.groups.includes(g)),
      );
      if (!reader) continue;
      const out = await chatSync(sessions[reader.username as keyof typeof sessions], doc.title);
      if (out.sourceAttributions?.some((a) => a?.documentId === doc.id)) cited++;
      // ChatSyncOutput.systemMessage is String (1-2048); a listed body is MessageBody (at most 1,000).
      within(out.systemMessage, 1, 1000, doc.id);
      for (const a of out.sourceAttributions ?? []) {
        expect(a).not.toBeNull();
        for (const field of [a!.title, a!.snippet, a!.url, a!.documentId, a!.indexId, a!.datasourceId])
          within(field, 1, 2048, `${doc.id} attribution`);
      }
    }
    expect(cited).toBeGreaterThan(80);
    const streamed = await chatStream(carol, 'what is the travel reimbursement limit for relocation');
    for (const ev of streamed) {
      if (ev.textEvent) within(ev.textEvent.systemMessage, 1, 2048, 'textEvent');
      if (ev.metadataEvent) within(ev.metadataEvent.finalTextMessage, 1, 2048, 'finalTextMessage');
    }
  });

  it('keeps presigned URLs (String, at most 2,048) and page tokens (NextToken, at most 800) in bounds', async () => {
    // The user with the most groups makes the longest grant.
    const { presignedUrl, mimeType } = await carol.q.send(
      new GetDocumentContentCommand({
        applicationId: carol.applicationId,
        indexId: carol.indexId,
        documentId: 'hr-relocation-travel-allowance',
        outputFormat: 'EXTRACTED',
      }),
    );
    within(presignedUrl, 1, 2048, 'presignedUrl');
    within(mimeType, 1, 2048, 'mimeType');
    for (let i = 0; i < 3; i++) await chatSync(carol, TRAVEL);
    const page = await carol.q.send(
      new ListConversationsCommand({ applicationId: carol.applicationId, maxResults: 1 }),
    );
    within(page.nextToken, 1, 800, 'nextToken');
  });
});

describe('document content', () => {
  const get = (s: UserSession, documentId: string, outputFormat?: 'RAW' | 'EXTRACTED') =>
    s.q.send(
      new GetDocumentContentCommand({
        applicationId: s.applicationId,
        indexId: s.indexId,
        documentId,
        outputFormat,
      }),
    );

  it('serves the original and the extracted text through a presigned URL', async () => {
    const raw = await get(carol, 'hr-salary-bands-2026');
    expect(raw.mimeType).toBe('text/html');
    const page = await fetch(raw.presignedUrl!);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<h1>Salary Bands 2026</h1>');
    const extracted = await get(carol, 'hr-salary-bands-2026', 'EXTRACTED');
    // The model: "When outputFormat is EXTRACTED, the MIME type is always application/json."
    expect(extracted.mimeType).toBe('application/json');
    // The documented "GetDocumentContent Output Schema"; an HTML page is a non-plaintext document.
    const json = (await (await fetch(extracted.presignedUrl!)).json()) as {
      schemaVersionId: string;
      outputFormat: string;
      nonPlainTextDocumentContent: Array<{ text: string; elementType: string }>;
    };
    expect(json).toMatchObject({ schemaVersionId: 'V1', outputFormat: 'JSON' });
    expect(json.nonPlainTextDocumentContent[0]!.text).toBe('Salary Bands 2026');
    const text = json.nonPlainTextDocumentContent.map((b) => b.text).join('\n');
    expect(text).toContain('Senior Software Engineer: $158,000 to $205,000');
    expect(text).not.toContain('<p>');
    // A plain-text source (the S3 exports) comes back as plainTextDocumentContent.
    const plain = await get(carol, 'guide-expense-reports', 'EXTRACTED');
    const plainJson = (await (await fetch(plain.presignedUrl!)).json()) as Record<string, unknown>;
    expect(plainJson).toMatchObject({ schemaVersionId: 'V1', outputFormat: 'JSON' });
    expect(plainJson['plainTextDocumentContent']).toContain('receipts@expensify.com');
    expect(plainJson['nonPlainTextDocumentContent']).toBeUndefined();
  });

  it('takes a documentId with "/" in it as one label (the SDK escapes it as %2F)', async () => {
    // DocumentId is `\P{C}*` (S3 keys and URLs are common ids): the route must not split on it.
    await expect(get(alice, 'exports/2026/missing.txt')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      resourceType: 'Document',
      resourceId: 'exports/2026/missing.txt',
    });
  });

  it('refuses documents outside the ACL, tampered URLs and URLs older than five minutes', async () => {
    await expect(get(bob, 'hr-salary-bands-2026')).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    const { presignedUrl } = await get(alice, 'review-alice-anders-2025');
    const tampered = presignedUrl!.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000');
    expect((await fetch(tampered)).status).toBe(403);
    const otherDoc = presignedUrl!.replace('review-alice-anders-2025?', 'hr-salary-bands-2026?');
    expect((await fetch(otherDoc)).status).not.toBe(200);
    expect((await fetch(presignedUrl!)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 301_000 });
    const late = await fetch(presignedUrl!);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('Request has expired');
  });
});
