/**
 * @module The sandbox's sample corpus: ~100 enterprise documents with ids, URIs, data sources,
 * attributes and ACLs, built once per process from the plain specs beside this file.
 */
import { policies } from './policies.js';
import { restricted } from './restricted.js';
import { engineering } from './engineering.js';
import { business } from './business.js';
import type { CorpusDocument, DataSourceKey, DocumentSpec } from './types.js';

export type { CorpusDocument, DocumentAcl, AttributeValue } from './types.js';

/** Data sources as a Q index would have them; ids follow the model's 36-character pattern. */
export const DATA_SOURCES: Record<
  DataSourceKey,
  { id: string; name: string; mimeType: CorpusDocument['mimeType'] }
> = {
  confluence: { id: 'd5000000-0000-4000-8000-00000000c0f1', name: 'Confluence', mimeType: 'text/html' },
  sharepoint: { id: 'd5000000-0000-4000-8000-0000000054e1', name: 'SharePoint', mimeType: 'text/html' },
  s3: { id: 'd5000000-0000-4000-8000-0000000000b5', name: 'S3 document exports', mimeType: 'text/plain' },
  salesforce: {
    id: 'd5000000-0000-4000-8000-00000000005f',
    name: 'Salesforce Knowledge',
    mimeType: 'text/html',
  },
};

const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

function uriFor(spec: DocumentSpec): string {
  switch (spec.source) {
    case 'confluence':
      return `https://wiki.example.com/display/${spec.department.toUpperCase()}/${encodeURIComponent(spec.title).replace(/%20/g, '+')}`;
    case 'sharepoint':
      return `https://examplecorp.sharepoint.com/sites/${spec.department}/SitePages/${spec.slug}.aspx`;
    case 's3':
      return `https://example-corp-docs.s3.amazonaws.com/${spec.department}/${spec.slug}.txt`;
    case 'salesforce':
      return `https://examplecorp.lightning.force.com/lightning/r/Knowledge__kav/${spec.slug}/view`;
  }
}

function toDocument(spec: DocumentSpec): CorpusDocument {
  const ds = DATA_SOURCES[spec.source];
  const createdAt = new Date(`${spec.created}T09:00:00Z`);
  const updatedAt = new Date(`${spec.updated ?? spec.created}T09:00:00Z`);
  const uri = uriFor(spec);
  return {
    id: spec.slug,
    title: spec.title,
    uri,
    dataSourceId: ds.id,
    mimeType: ds.mimeType,
    createdAt,
    updatedAt,
    acl: spec.acl,
    body: spec.body,
    ...(spec.applications ? { applications: spec.applications } : {}),
    attributes: {
      _document_title: { stringValue: spec.title },
      _category: { stringValue: spec.category },
      _source_uri: { stringValue: uri },
      _data_source_id: { stringValue: ds.id },
      _created_at: { dateValue: createdAt },
      _last_updated_at: { dateValue: updatedAt },
      department: { stringValue: spec.department },
      confidentiality: { stringValue: spec.confidentiality ?? 'internal' },
      tags: { stringListValue: spec.tags },
      word_count: { longValue: spec.body.reduce((n, p) => n + words(p), 0) },
    },
  };
}

let built: CorpusDocument[] | undefined;

/** Every document of the corpus, in a fixed order. */
export function corpus(): CorpusDocument[] {
  if (!built) {
    const docs = [...policies, ...restricted, ...engineering, ...business].map(toDocument);
    const seen = new Set<string>();
    for (const d of docs) {
      if (seen.has(d.id)) throw new Error(`duplicate corpus document id ${d.id}`);
      seen.add(d.id);
    }
    built = docs;
  }
  return built;
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The document as its source system stores it (HTML page or plain-text export). */
export function renderRaw(doc: CorpusDocument): string {
  if (doc.mimeType === 'text/html') {
    const paragraphs = doc.body.map((p) => `    <p>${escapeHtml(p)}</p>`).join('\n');
    return `<!DOCTYPE html>\n<html lang="en">\n  <head><meta charset="utf-8"><title>${escapeHtml(doc.title)}</title></head>\n  <body>\n    <h1>${escapeHtml(doc.title)}</h1>\n${paragraphs}\n  </body>\n</html>\n`;
  }
  return `${doc.title}\n\n${doc.body.join('\n\n')}\n`;
}

/**
 * What Q extracted from the document at ingestion, in the documented "GetDocumentContent Output Schema"
 * (qbusiness-ug/document-content-schema.html): `schemaVersionId` V1, `outputFormat` JSON, and either
 * `plainTextDocumentContent` (plain-text documents) or `nonPlainTextDocumentContent`, a list of
 * ExtractedDocumentBodyElement. Which optional element fields AWS fills for HTML is not documented: the
 * sandbox gives each block `text`, `elementType` TEXT and `htmlDocumentTitle`.
 */
export function extractedContent(doc: CorpusDocument): string {
  const schema = { schemaVersionId: 'V1', outputFormat: 'JSON' };
  if (doc.mimeType === 'text/plain') {
    return JSON.stringify({ ...schema, plainTextDocumentContent: renderRaw(doc) });
  }
  const element = (text: string) => ({ text, elementType: 'TEXT', htmlDocumentTitle: doc.title });
  return JSON.stringify({
    ...schema,
    nonPlainTextDocumentContent: [element(doc.title), ...doc.body.map(element)],
  });
}
