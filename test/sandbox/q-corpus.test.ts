/**
 * @module The sample corpus as shipped: enough realistic documents, complete metadata, and ACLs of
 * every kind (open, one group, one user) that the Q emulator's ACL tests rely on.
 */
import { describe, expect, it } from 'vitest';
import { corpus, extractedContent, renderRaw, DATA_SOURCES } from '../../tools/sandbox/corpus/index.js';
import { createWorld } from '../../tools/sandbox/world.js';

const docs = corpus();
const world = createWorld('http://127.0.0.1:1');
const groups = new Set(world.users.flatMap((u) => u.groups));
const emails = new Set(world.users.map((u) => u.email));

describe('sample corpus', () => {
  it('has at least 100 documents with unique ids, several paragraphs and full metadata', () => {
    expect(docs.length).toBeGreaterThanOrEqual(100);
    expect(new Set(docs.map((d) => d.id)).size).toBe(docs.length);
    const dataSources = new Set(Object.values(DATA_SOURCES).map((d) => d.id));
    for (const d of docs) {
      expect(d.title.length, d.id).toBeGreaterThan(3);
      expect(d.uri, d.id).toMatch(/^https:\/\//);
      expect(dataSources.has(d.dataSourceId), d.id).toBe(true);
      expect(d.body.join(' ').split(/\s+/).length, d.id).toBeGreaterThan(20);
      for (const name of [
        '_category',
        'department',
        '_created_at',
        '_document_title',
        'tags',
        '_source_uri',
      ]) {
        expect(d.attributes[name], `${d.id} ${name}`).toBeDefined();
      }
    }
    expect(docs.filter((d) => d.body.length >= 3).length).toBeGreaterThan(60);
  });

  it('names only real groups and users, and has open, group-only and single-user documents', () => {
    for (const d of docs) {
      for (const g of d.acl.groups ?? []) expect(groups.has(g), `${d.id}: group ${g}`).toBe(true);
      for (const u of d.acl.users ?? []) expect(emails.has(u), `${d.id}: user ${u}`).toBe(true);
      expect(d.acl.everyone || (d.acl.groups?.length ?? 0) + (d.acl.users?.length ?? 0) > 0, d.id).toBe(true);
    }
    const open = docs.filter((d) => d.acl.everyone || d.acl.groups?.includes('all-employees'));
    const oneGroup = docs.filter((d) => !d.acl.everyone && d.acl.groups?.length === 1 && !d.acl.users);
    const oneUser = docs.filter((d) => !d.acl.everyone && !d.acl.groups && d.acl.users?.length === 1);
    expect(open.length).toBeGreaterThan(20);
    expect(new Set(oneGroup.map((d) => d.acl.groups![0])).size).toBeGreaterThanOrEqual(5);
    expect(oneUser.length).toBeGreaterThanOrEqual(3);
  });

  it('renders the original (HTML or text) and the extracted text', () => {
    const html = docs.find((d) => d.mimeType === 'text/html')!;
    expect(renderRaw(html)).toMatch(/^<!DOCTYPE html>[\s\S]*<h1>/);
    // EXTRACTED follows the documented "GetDocumentContent Output Schema".
    type Extracted = {
      schemaVersionId: string;
      outputFormat: string;
      plainTextDocumentContent?: string;
      nonPlainTextDocumentContent?: Array<{ text: string; elementType: string }>;
    };
    const extracted = JSON.parse(extractedContent(html)) as Extracted;
    expect(extracted).toMatchObject({ schemaVersionId: 'V1', outputFormat: 'JSON' });
    expect(extracted.plainTextDocumentContent).toBeUndefined();
    expect(extracted.nonPlainTextDocumentContent!.map((b) => b.text)).toEqual([html.title, ...html.body]);
    expect(extracted.nonPlainTextDocumentContent!.some((b) => b.text.includes('<'))).toBe(false);
    const text = docs.find((d) => d.mimeType === 'text/plain')!;
    expect(renderRaw(text)).toContain(text.body[0]);
    const plain = JSON.parse(extractedContent(text)) as Extracted;
    expect(plain).toMatchObject({ schemaVersionId: 'V1', outputFormat: 'JSON' });
    expect(plain.plainTextDocumentContent).toContain(text.body[0]);
    expect(plain.nonPlainTextDocumentContent).toBeUndefined();
  });
});
