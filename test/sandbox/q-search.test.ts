/**
 * @module SearchRelevantContent through the unmodified QBusinessClient with credentials from the
 * sandbox's real STS / sso-oidc: per-user ACLs, no leaks, pagination, attribute filters, validation
 * and who may call at all.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ChatSyncCommand,
  SearchRelevantContentCommand,
  type AttributeFilter,
  type RelevantContent,
  type QBusinessClient,
} from '@aws-sdk/client-qbusiness';
import { useSandbox } from '../helpers/sandbox.js';
import { plainIamClient, qClient, sessionFor, type UserSession } from '../helpers/credentials.js';
import { corpus, type CorpusDocument } from '../../tools/sandbox/corpus/index.js';

const sandbox = useSandbox();
const TRAVEL = 'what is the travel reimbursement limit';
const docsById = new Map(corpus().map((d) => [d.id, d]));

/** The ACL as written in the corpus, evaluated independently of the emulator. */
function allowed(doc: CorpusDocument, email: string, groups: string[]): boolean {
  return !!(
    doc.acl.everyone ||
    doc.acl.users?.includes(email) ||
    doc.acl.groups?.some((g) => groups.includes(g))
  );
}

async function search(
  s: UserSession,
  queryText: string,
  extra: { maxResults?: number; nextToken?: string; attributeFilter?: AttributeFilter } = {},
  client: QBusinessClient = s.q,
) {
  return client.send(
    new SearchRelevantContentCommand({
      applicationId: s.applicationId,
      queryText,
      contentSource: { retriever: { retrieverId: s.retrieverId } },
      ...extra,
    }),
  );
}

async function searchAll(
  s: UserSession,
  queryText: string,
  pageSize: number,
  attributeFilter?: AttributeFilter,
) {
  const all: RelevantContent[] = [];
  let nextToken: string | undefined;
  let pages = 0;
  do {
    const out = await search(s, queryText, { maxResults: pageSize, nextToken, attributeFilter });
    all.push(...(out.relevantContent ?? []));
    nextToken = out.nextToken;
    pages++;
  } while (nextToken);
  return { all, pages };
}

const docIds = (items: RelevantContent[] | undefined) => new Set((items ?? []).map((r) => r.documentId!));
const attr = (r: RelevantContent, name: string) => r.documentAttributes?.find((a) => a.name === name)?.value;

let alice: UserSession, bob: UserSession, carol: UserSession, erin: UserSession;

beforeAll(async () => {
  [alice, bob, carol, erin] = await Promise.all([
    sessionFor(sandbox(), 'alice', 'idc'),
    sessionFor(sandbox(), 'bob', 'idc'),
    sessionFor(sandbox(), 'carol', 'idc'),
    sessionFor(sandbox(), 'erin', 'idc'),
  ]);
});

describe('SearchRelevantContent: ACLs', () => {
  it('answers the same question with different permitted documents for alice, bob and carol', async () => {
    const ids = async (s: UserSession) =>
      docIds((await search(s, TRAVEL, { maxResults: 100 })).relevantContent);
    const [da, db, dc] = await Promise.all([ids(alice), ids(bob), ids(carol)]);
    expect(da.has('eng-conference-travel-guidelines')).toBe(true);
    expect(db.has('fin-travel-audit-procedure')).toBe(true);
    expect(dc.has('hr-relocation-travel-allowance')).toBe(true);
    for (const d of [da, db, dc]) expect(d.has('policy-travel-and-expense')).toBe(true);
    expect(da.has('mgr-travel-approval-limits')).toBe(false);
    expect(db.has('mgr-travel-approval-limits') && dc.has('mgr-travel-approval-limits')).toBe(true);
    expect(db.has('hr-relocation-travel-allowance') || dc.has('fin-travel-audit-procedure')).toBe(false);
  });

  it('never returns a document outside the user ACL, whatever the query', async () => {
    const queries = [
      TRAVEL,
      'salary bands senior software engineer',
      'Project Falcon acquisition Northwind',
      'performance review rating',
      'commission quota',
      'on-call escalation',
      'contractor laptop access',
    ];
    const users = [
      { s: alice, email: 'alice@example.com', groups: ['engineering', 'all-employees'] },
      { s: bob, email: 'bob@example.com', groups: ['finance', 'managers', 'all-employees'] },
      { s: erin, email: 'erin@example.com', groups: ['contractors'] },
    ];
    for (const { s, email, groups } of users) {
      for (const q of queries) {
        const out = await search(s, q, { maxResults: 100 });
        for (const r of out.relevantContent ?? []) {
          expect(allowed(docsById.get(r.documentId!)!, email, groups), `${email} got ${r.documentId}`).toBe(
            true,
          );
        }
      }
    }
    const salary = await search(carol, 'salary bands senior software engineer');
    expect(docIds(salary.relevantContent).has('hr-salary-bands-2026')).toBe(true);
    const review = await search(alice, 'performance review rating Alice');
    expect(docIds(review.relevantContent).has('review-alice-anders-2025')).toBe(true);
    expect(
      docIds((await search(bob, 'performance review rating Alice', { maxResults: 100 })).relevantContent).has(
        'review-alice-anders-2025',
      ),
    ).toBe(false);
  });

  it('returns passages with title, URI, attributes and a confidence bucket', async () => {
    const out = await search(alice, 'travel reimbursement limit domestic lodging meals', { maxResults: 5 });
    const top = out.relevantContent![0]!;
    expect(top.documentId).toBe('policy-travel-and-expense');
    expect(top.content).toContain('$250 per night');
    expect(top.documentTitle).toBe('Travel and Expense Policy');
    expect(top.documentUri).toMatch(/^https:\/\//);
    expect(top.scoreAttributes?.scoreConfidence).toBe('VERY_HIGH');
    expect(attr(top, 'department')).toEqual({ stringValue: 'finance' });
    expect(attr(top, '_created_at')?.dateValue).toEqual(new Date('2025-01-15T09:00:00Z'));
    for (const r of out.relevantContent!) {
      expect(['VERY_HIGH', 'HIGH', 'MEDIUM', 'LOW', 'NOT_AVAILABLE']).toContain(
        r.scoreAttributes?.scoreConfidence,
      );
    }
  });
});

describe('SearchRelevantContent: pagination and filters', () => {
  it('returns every permitted match exactly once across pages', async () => {
    const whole = await search(alice, 'on-call escalation incident', { maxResults: 100 });
    const expected = (whole.relevantContent ?? []).map((r) => `${r.documentId}\n${r.content}`);
    expect(expected.length).toBeGreaterThan(20);
    const { all, pages } = await searchAll(alice, 'on-call escalation incident', 7);
    expect(pages).toBe(Math.ceil(expected.length / 7));
    const got = all.map((r) => `${r.documentId}\n${r.content}`);
    expect(new Set(got).size).toBe(got.length);
    expect(got).toEqual(expected);
  });

  it('binds the nextToken to the user and the query', async () => {
    const first = await search(alice, 'on-call escalation', { maxResults: 2 });
    expect(first.nextToken).toBeTruthy();
    await expect(
      search(bob, 'on-call escalation', { maxResults: 2, nextToken: first.nextToken }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      search(alice, 'travel', { maxResults: 2, nextToken: first.nextToken }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(
      search(alice, 'on-call escalation', { maxResults: 2, nextToken: `${first.nextToken}x` }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });

  it('narrows results as the attributeFilter grammar says', async () => {
    const q = 'policy escalation travel security runbook';
    const base = (await searchAll(bob, q, 100)).all;
    const filtered = async (f: AttributeFilter) => (await searchAll(bob, q, 100, f)).all;
    const eq = await filtered({ equalsTo: { name: 'department', value: { stringValue: 'finance' } } });
    expect(eq.length).toBeGreaterThan(0);
    expect(eq.length).toBeLessThan(base.length);
    expect(eq.every((r) => attr(r, 'department')?.stringValue === 'finance')).toBe(true);

    const not = await filtered({
      notFilter: { equalsTo: { name: 'department', value: { stringValue: 'finance' } } },
    });
    expect(eq.length + not.length).toBe(base.length);

    const any = await filtered({
      containsAny: { name: 'tags', value: { stringListValue: ['audit', 'm&a'] } },
    });
    expect(any.length).toBeGreaterThan(0);
    expect(
      any.every((r) => attr(r, 'tags')!.stringListValue!.some((t) => ['audit', 'm&a'].includes(t))),
    ).toBe(true);

    const all = await filtered({
      containsAll: { name: 'tags', value: { stringListValue: ['travel', 'audit'] } },
    });
    expect(docIds(all)).toEqual(new Set(['fin-travel-audit-procedure']));

    const since = new Date('2025-10-01T00:00:00Z');
    const recent = await filtered({
      greaterThanOrEquals: { name: '_created_at', value: { dateValue: since } },
    });
    expect(recent.length).toBeGreaterThan(0);
    expect(recent.every((r) => attr(r, '_created_at')!.dateValue!.getTime() >= since.getTime())).toBe(true);

    const short = await filtered({ lessThan: { name: 'word_count', value: { longValue: 120 } } });
    expect(short.every((r) => attr(r, 'word_count')!.longValue! < 120)).toBe(true);

    const and = await filtered({
      andAllFilters: [
        { equalsTo: { name: 'department', value: { stringValue: 'finance' } } },
        { greaterThan: { name: '_created_at', value: { dateValue: since } } },
      ],
    });
    expect(
      and.every(
        (r) => attr(r, 'department')?.stringValue === 'finance' && attr(r, '_created_at')!.dateValue! > since,
      ),
    ).toBe(true);
    const or = await filtered({
      orAllFilters: [
        { equalsTo: { name: 'department', value: { stringValue: 'finance' } } },
        { equalsTo: { name: 'department', value: { stringValue: 'security' } } },
      ],
    });
    expect(new Set(or.map((r) => attr(r, 'department')?.stringValue))).toEqual(
      new Set(['finance', 'security']),
    );
  });
});

describe('SearchRelevantContent: validation and access', () => {
  it('validates inputs per the model with ValidationException{message, reason, fields}', async () => {
    for (const maxResults of [0, 101]) {
      await expect(search(alice, 'travel', { maxResults })).rejects.toMatchObject({
        name: 'ValidationException',
        reason: 'FIELD_VALIDATION_FAILED',
        fields: [expect.objectContaining({ name: 'maxResults' })],
      });
    }
    await expect(search(alice, '')).rejects.toMatchObject({
      name: 'ValidationException',
      fields: [expect.objectContaining({ name: 'queryText' })],
    });
    await expect(
      search(alice, 'x', {
        attributeFilter: { equalsTo: { name: 'a', value: { longValue: 1 } }, notFilter: {} },
      }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(
      search(alice, 'x', {
        attributeFilter: { greaterThan: { name: 'department', value: { stringValue: 'a' } } },
      }),
    ).rejects.toMatchObject({ name: 'ValidationException' });
    await expect(search({ ...alice, applicationId: 'not-an-id' }, 'x')).rejects.toMatchObject({
      name: 'ValidationException',
      fields: [expect.objectContaining({ name: 'applicationId' })],
    });
    await expect(
      search({ ...alice, applicationId: '00000000-0000-4000-8000-000000000000' }, 'x'),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      resourceType: 'Application',
    });
    await expect(
      search({ ...alice, retrieverId: '00000000-0000-4000-8000-000000000000' }, 'x'),
    ).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      resourceType: 'Retriever',
    });
    // The whole input is validated before any resource is looked up.
    await expect(
      search({ ...alice, retrieverId: '00000000-0000-4000-8000-000000000000' }, 'x', { maxResults: 0 }),
    ).rejects.toMatchObject({
      name: 'ValidationException',
      fields: [expect.objectContaining({ name: 'maxResults' })],
    });
  });

  it('refuses plain IAM credentials and sessions of the wrong identity type', async () => {
    await expect(search(alice, TRAVEL, {}, plainIamClient(sandbox()))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    const fed = await sessionFor(sandbox(), 'alice', 'iam-federation');
    await expect(search(alice, TRAVEL, {}, fed.q)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(search(fed, TRAVEL, {}, alice.q)).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('applies email ACLs (and Q group store membership) in the IAM-federation application', async () => {
    const [fa, fd] = await Promise.all([
      sessionFor(sandbox(), 'alice', 'iam-federation'),
      sessionFor(sandbox(), 'dave', 'iam-federation'),
    ]);
    const a = docIds(
      (await search(fa, 'performance review rating Alice', { maxResults: 100 })).relevantContent,
    );
    const d = docIds(
      (await search(fd, 'performance review rating Alice', { maxResults: 100 })).relevantContent,
    );
    expect(a.has('review-alice-anders-2025')).toBe(true);
    expect(d.has('review-alice-anders-2025')).toBe(false);
    expect(
      docIds((await search(fa, 'on-call escalation', { maxResults: 100 })).relevantContent).has(
        'eng-oncall-escalation-policy',
      ),
    ).toBe(true);
  });

  it('lets a data accessor search its own tenant only, and never chat', async () => {
    const acme = await sessionFor(sandbox(), 'carol', 'data-accessor', 0);
    const globex = await sessionFor(sandbox(), 'carol', 'data-accessor', 1);
    expect(
      docIds((await search(acme, 'rocket sled safety')).relevantContent).has(
        'acme-rocket-sled-safety-procedure',
      ),
    ).toBe(true);
    expect(
      docIds((await search(globex, 'rocket sled safety', { maxResults: 100 })).relevantContent).has(
        'acme-rocket-sled-safety-procedure',
      ),
    ).toBe(false);
    await expect(search(globex, 'travel', {}, acme.q)).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(
      acme.q.send(new ChatSyncCommand({ applicationId: acme.applicationId, userMessage: TRAVEL })),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining('qbusiness:ChatSync'),
    });
    // The same user's plain ISV keys are refused outright.
    await expect(
      search(acme, TRAVEL, {}, qClient(sandbox(), sandbox().description.modes.dataAccessor.baseCredentials)),
    ).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});

describe("SearchRelevantContent: the model's output bounds", () => {
  /** Smithy counts string length in code points. */
  const chars = (s: string | undefined) => Array.from(s ?? '').length;
  const within = (s: string | undefined, min: number, max: number, what: string) => {
    expect(chars(s), what).toBeGreaterThanOrEqual(min);
    expect(chars(s), what).toBeLessThanOrEqual(max);
  };

  it('returns every passage within RelevantContent’s constraints', async () => {
    // What alice may read, through one query per document title.
    const seen = new Set<string>();
    for (const doc of corpus().filter(
      (d) => !d.applications && allowed(d, 'alice@example.com', ['engineering', 'all-employees']),
    )) {
      const { relevantContent } = await search(alice, doc.title, { maxResults: 20 });
      for (const r of relevantContent ?? []) {
        const id = r.documentId!;
        seen.add(id);
        within(r.content, 1, 2048, `${id} content`);
        within(r.documentTitle, 1, 1024, `${id} documentTitle`);
        within(id, 1, 1825, 'documentId');
        expect(id).toMatch(/^\P{C}*$/u);
        within(r.documentUri, 1, 2048, `${id} documentUri`);
        expect(r.documentUri).toMatch(/^(https?|ftp|file):\/\/([^\s]*)$/);
        expect(r.documentAttributes!.length, id).toBeGreaterThanOrEqual(1);
        expect(r.documentAttributes!.length, id).toBeLessThanOrEqual(500);
        for (const a of r.documentAttributes!) {
          within(a.name, 1, 200, `${id} attribute name`);
          expect(a.name).toMatch(/^[a-zA-Z0-9_][a-zA-Z0-9_-]*$/);
          if (a.value!.stringValue !== undefined) within(a.value!.stringValue, 0, 2048, `${id} ${a.name}`);
          for (const v of a.value!.stringListValue ?? []) within(v, 1, 2048, `${id} ${a.name}`);
        }
        expect(['VERY_HIGH', 'HIGH', 'MEDIUM', 'LOW', 'NOT_AVAILABLE']).toContain(
          r.scoreAttributes?.scoreConfidence,
        );
      }
    }
    expect(seen.size).toBeGreaterThan(30);
    within((await search(alice, TRAVEL, { maxResults: 1 })).nextToken, 1, 800, 'nextToken');
  });
});
