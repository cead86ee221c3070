/**
 * @module Tool `get_document`: the extracted text of one document the user may read, a bounded window
 * at a time, with the offset to read on, headed by its title and URI when this session's results named
 * them (GetDocumentContent returns neither) and its own mime type.
 */
import { z } from 'zod';
import { qIdString } from '../config/ids.js';
import { defineTool } from './define-tool.js';
import { NO_CONTROL_CHARS } from './shapes.js';

export const getDocument = defineTool({
  name: 'get_document',
  title: 'Read a document',
  description: [
    'Read the extracted text of a document that search_relevant_content or chat cited, if the signed-in user may read it:',
    'up to maxChars characters from offset, and nextOffset while there is more.',
  ].join(' '),
  inputSchema: z
    .object({
      documentId: z
        .string()
        .min(1)
        .max(1825)
        .regex(NO_CONTROL_CHARS, 'a documentId has no control characters')
        .describe('From a search passage or chat source'),
      dataSourceId: qIdString('data source id').optional().describe('If the passage or source showed one'),
      offset: z.number().int().min(0).max(100_000_000).optional(),
      maxChars: z.number().int().min(100).max(50_000).optional().describe('Default 20000'),
    })
    .strict(),
  outputSchema: z.object({
    documentId: z.string(),
    title: z.string().optional(),
    uri: z.string().optional(),
    mimeType: z.string().optional(),
    text: z.string(),
    offset: z.number().int(),
    totalChars: z.number().int(),
    nextOffset: z.number().int().optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal, documents }) {
    const doc = await ctx.q.getDocument(params, { signal });
    const seen = documents.lookup(doc.documentId, params.dataSourceId);
    const end = doc.offset + doc.text.length;
    const range =
      doc.totalChars === doc.text.length
        ? `all ${doc.totalChars} characters`
        : `characters ${doc.offset}–${end} of ${doc.totalChars}`;
    const head = [
      seen?.title ? `"${seen.title}"` : `Document ${doc.documentId}`,
      seen?.uri ? ` — ${seen.uri}` : '',
      `\n(documentId: ${doc.documentId}${doc.mimeType ? ` · ${doc.mimeType}` : ''} · ${range})`,
    ].join('');
    const more =
      doc.nextOffset !== undefined
        ? `\n\n[More text: call get_document with offset ${doc.nextOffset} to read on.]`
        : '';
    return {
      structured: {
        ...doc,
        ...(seen?.title ? { title: seen.title } : {}),
        ...(seen?.uri ? { uri: seen.uri } : {}),
      },
      text: `${head}:\n\n${doc.text}${more}`,
    };
  },
});
