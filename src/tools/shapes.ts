/**
 * @module Zod pieces several tools share (ids with Q's own bounds, output shapes of passages and
 * sources) and the text renderings an LLM reads: numbered, citable, with the next step spelled out.
 */
import { z } from 'zod';
import { qIdString } from '../config/ids.js';
import type { AttributeValue, Passage, Source } from '../q/client.js';
import { Q_TOKEN_MAX } from './page-token.js';

/** Q's conversation and message ids: 36 characters (the property name and tool say which). */
export const qId = (what: string) => qIdString(`${what} from an earlier result`);

/** A nextToken of at most `max` characters (Q's own: 1–800, the service model's bound). */
export const nextTokenOf = (max: number) => z.string().min(1).max(max).optional();

export const nextToken = nextTokenOf(Q_TOKEN_MAX);

/**
 * Q's `\P{C}*` pattern (DocumentId, MessageUsefulnessComment): no control, format, surrogate,
 * private-use or unassigned characters.
 */
export const NO_CONTROL_CHARS = /^\P{C}*$/u;

export const attributeValueOut = z.union([z.string(), z.array(z.string()), z.number()]);

export const PassageOut = z.object({
  n: z.number().int(),
  documentId: z.string(),
  title: z.string(),
  uri: z.string().optional(),
  content: z.string(),
  confidence: z.string().optional(),
  attributes: z.record(z.string(), attributeValueOut),
});

export const SourceOut = z.object({
  citationNumber: z.number().int().optional(),
  title: z.string(),
  url: z.string().optional(),
  snippet: z.string().optional(),
  documentId: z.string().optional(),
  dataSourceId: z.string().optional(),
  updatedAt: z.string().optional(),
});

/** Passages numbered from `first` (citations run on across pages), each with its attributes. */
export function renderPassages(passages: Passage[], first = 1): string {
  return passages
    .map((p, i) => {
      const head = `[${first + i}] ${p.title}${p.uri ? ` — ${p.uri}` : ''}`;
      const ds =
        typeof p.attributes._data_source_id === 'string'
          ? ` · dataSourceId: ${p.attributes._data_source_id}`
          : '';
      const meta = `    documentId: ${p.documentId}${ds}${p.confidence ? ` · confidence: ${p.confidence}` : ''}`;
      const attributes = renderAttributes(p);
      return `${head}\n${meta}${attributes ? `\n    attributes: ${attributes}` : ''}\n${indent(p.content)}`;
    })
    .join('\n\n');
}

const MAX_ATTRIBUTE_CHARS = 120;
const MAX_ATTRIBUTES_CHARS = 600;

/**
 * `_category="office guide", tags=["vpn","remote"], word_count=120`: values as JSON, so that a string is
 * exactly the stringValue an attributeFilter takes. What the heading already shows is left out.
 */
function renderAttributes(p: Passage): string {
  const parts: string[] = [];
  let length = 0;
  for (const [name, value] of Object.entries(p.attributes)) {
    if (shownInHeading(p, name, value)) continue;
    const json = JSON.stringify(value);
    const part = `${name}=${json.length > MAX_ATTRIBUTE_CHARS ? `${json.slice(0, MAX_ATTRIBUTE_CHARS)}…` : json}`;
    if (length + part.length > MAX_ATTRIBUTES_CHARS) {
      parts.push('…');
      break;
    }
    parts.push(part);
    length += part.length + 2;
  }
  return parts.join(', ');
}

/**
 * Whether the heading shows this attribute already: the data source id is itself (always shown), the
 * title and URI are strings, so equal JSON is the same value (no JSON.stringify per attribute needed).
 */
function shownInHeading(p: Passage, name: string, value: AttributeValue): boolean {
  if (name === '_data_source_id') return true;
  if (name === '_document_title') return value === p.title;
  if (name === '_source_uri') return p.uri !== undefined && value === p.uri;
  return false;
}

export function renderSources(sources: Source[]): string {
  return sources
    .map((s, i) => {
      const n = s.citationNumber ?? i + 1;
      const where = s.url ? ` — ${s.url}` : '';
      const doc = s.documentId
        ? ` (documentId: ${s.documentId}${s.dataSourceId ? `, dataSourceId: ${s.dataSourceId}` : ''})`
        : '';
      return `[${n}] ${s.title}${where}${doc}${s.snippet ? `\n${indent(s.snippet)}` : ''}`;
    })
    .join('\n');
}

const indent = (text: string) =>
  text
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
