/**
 * @module Zod pieces several tools share (ids with Q's own bounds, output shapes of passages and
 * sources) and the text renderings an LLM reads: numbered, citable, with the next step spelled out.
 */
import { z } from 'zod';
import type { Passage, Source } from '../q/client.js';

/** Q's conversation and message ids: 36 characters. */
export const qId = (what: string) =>
  z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{35}$/, `a 36-character ${what} from an earlier result`)
    .describe(`The ${what}, as returned by an earlier tool result`);

/** Q's NextToken: 1–800 characters (the service model's bound). */
export const nextToken = z
  .string()
  .min(1)
  .max(800)
  .optional()
  .describe('Pagination token from the previous result of this same tool; omit for the first page');

/**
 * Q's `\P{C}*` pattern (DocumentId, MessageUsefulnessComment): no control, format, surrogate,
 * private-use or unassigned characters.
 */
export const NO_CONTROL_CHARS = /^\P{C}*$/u;

export const attributeValueOut = z.union([z.string(), z.array(z.string()), z.number()]);

export const PassageOut = z.object({
  n: z.number().int().describe('Source number to cite as [n]'),
  documentId: z.string(),
  title: z.string(),
  uri: z.string().optional(),
  content: z.string(),
  confidence: z.string().optional().describe('VERY_HIGH, HIGH, MEDIUM, LOW or NOT_AVAILABLE'),
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

export function renderPassages(passages: Passage[]): string {
  return passages
    .map((p, i) => {
      const head = `[${i + 1}] ${p.title}${p.uri ? ` — ${p.uri}` : ''}`;
      const ds =
        typeof p.attributes._data_source_id === 'string'
          ? ` · dataSourceId: ${p.attributes._data_source_id}`
          : '';
      const meta = `    documentId: ${p.documentId}${ds}${p.confidence ? ` · confidence: ${p.confidence}` : ''}`;
      return `${head}\n${meta}\n${indent(p.content)}`;
    })
    .join('\n\n');
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
