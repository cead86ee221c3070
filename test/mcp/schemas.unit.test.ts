/**
 * @module The tool input schemas against the Q Business service model's constraints (botocore's
 * qbusiness 2023-11-27 model; the JS SDK's dist-types carry no bounds): NextToken 1–800,
 * DocumentId and MessageUsefulnessComment `\P{C}*`, DocumentAttributeKey `[a-zA-Z0-9_][a-zA-Z0-9_-]*`,
 * a stringValue of 0–2048 characters.
 */
import { describe, expect, it } from 'vitest';
import { getDocument } from '../../src/tools/get-document.js';
import { listConversations } from '../../src/tools/list-conversations.js';
import { putFeedback } from '../../src/tools/put-feedback.js';
import { searchRelevantContent } from '../../src/tools/search-relevant-content.js';

const id = 'a1b2c3d4-0000-4000-8000-000000000000';
const issues = (result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }) =>
  result.error?.issues.map((i) => i.path.join('.')) ?? [];

describe('tool schemas follow the Q model', () => {
  it('nextToken: 1–800 characters', () => {
    const parse = (nextToken: string) => listConversations.inputSchema.safeParse({ nextToken });
    expect(parse('x'.repeat(800)).success).toBe(true);
    expect(issues(parse('x'.repeat(801)))).toEqual(['nextToken']);
  });

  it('documentId: no control characters', () => {
    const parse = (documentId: string) => getDocument.inputSchema.safeParse({ documentId });
    expect(parse('Folder/Report 2025 (é).pdf').success).toBe(true);
    expect(issues(parse('doc\u0000id'))).toEqual(['documentId']);
    expect(issues(parse('doc\nid'))).toEqual(['documentId']);
  });

  it('attribute filter: key pattern, empty stringValue allowed', () => {
    const parse = (name: string, value: unknown) =>
      searchRelevantContent.inputSchema.safeParse({
        query: 'x',
        attributeFilter: { equalsTo: { name, value } },
      });
    expect(parse('_category', { stringValue: '' }).success).toBe(true);
    expect(
      parse('team-name_2', { stringListValue: Array.from({ length: 500 }, (_, i) => `v${i}`) }).success,
    ).toBe(true);
    expect(issues(parse('bad name', { stringValue: 'x' }))).toEqual(['attributeFilter.equalsTo.name']);
    expect(issues(parse('-lead', { stringValue: 'x' }))).toEqual(['attributeFilter.equalsTo.name']);
  });

  it('feedback comment: line breaks become spaces; other control characters are refused', () => {
    const parse = (comment: string) =>
      putFeedback.inputSchema.safeParse({ conversationId: id, messageId: id, usefulness: 'USEFUL', comment });
    const ok = parse('clear answer\nthanks\r\n');
    expect(ok.success && ok.data.comment).toBe('clear answer thanks');
    expect(issues(parse('bell\u0007'))).toEqual(['comment']);
  });
});
