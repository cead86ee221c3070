/**
 * @module Tool `get_document`: the extracted text of one document the user may read, a bounded window
 * at a time, with the offset to read on.
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { NO_CONTROL_CHARS } from './shapes.js';

export const getDocument = defineTool({
  name: 'get_document',
  title: 'Read a document',
  description: [
    'Read the full extracted text of one document from the Amazon Q Business index, if the signed-in user may read it.',
    'Use it after search_relevant_content or chat cited a document and you need more than the passage; documentId (and dataSourceId, when shown) come from those results.',
    'Returns at most maxChars characters starting at offset, the total length, and nextOffset when there is more: call again with offset = nextOffset to read on.',
  ].join(' '),
  inputSchema: z
    .object({
      documentId: z
        .string()
        .min(1)
        .max(1825)
        .regex(NO_CONTROL_CHARS, 'a documentId has no control characters')
        .describe('documentId from a search passage or chat source'),
      dataSourceId: z
        .string()
        .regex(/^[a-zA-Z0-9][a-zA-Z0-9-]{35}$/, 'a 36-character data source id')
        .optional()
        .describe(
          'The dataSourceId shown with the passage or source (attribute _data_source_id); omit for documents added without a connector',
        ),
      offset: z
        .number()
        .int()
        .min(0)
        .max(100_000_000)
        .optional()
        .describe('Character offset to start at (default 0)'),
      maxChars: z
        .number()
        .int()
        .min(100)
        .max(50_000)
        .optional()
        .describe('Characters to return (100–50000, default 20000)'),
    })
    .strict(),
  outputSchema: z.object({
    documentId: z.string(),
    mimeType: z.string().optional(),
    text: z.string(),
    offset: z.number().int(),
    totalChars: z.number().int(),
    nextOffset: z.number().int().optional().describe('Pass as offset to read the next part'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal }) {
    const doc = await ctx.q.getDocument(params, { signal });
    const end = doc.offset + doc.text.length;
    const range =
      doc.totalChars === doc.text.length
        ? `all ${doc.totalChars} characters`
        : `characters ${doc.offset}–${end} of ${doc.totalChars}`;
    const more =
      doc.nextOffset !== undefined
        ? `\n\n[More text: call get_document with offset ${doc.nextOffset} to read on.]`
        : '';
    return { structured: doc, text: `Document ${doc.documentId} (${range}):\n\n${doc.text}${more}` };
  },
});
