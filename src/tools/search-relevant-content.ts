/**
 * @module Tool `search_relevant_content`: the passages of the Q index that match a query and that the
 * signed-in user may read (Q filters by the document ACLs), as numbered, citable sources.
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { AttributeFilterSchema } from './attribute-filter.js';
import { PassageOut, nextToken, renderPassages } from './shapes.js';

export const searchRelevantContent = defineTool({
  name: 'search_relevant_content',
  title: 'Search the company knowledge index',
  description: [
    "Search the company's Amazon Q Business index for passages relevant to a query, under the signed-in user's own permissions (documents the user may not read never appear).",
    'Use it to find facts, policies, documents or people-related content before answering; prefer it over guessing.',
    'Returns numbered passages ([1], [2], …) with title, URI, documentId, confidence and document attributes; cite them by number.',
    'To read a whole document call get_document with its documentId; for more results call again with the returned nextToken; narrow results with attributeFilter (e.g. by _category or department).',
  ].join(' '),
  inputSchema: z
    .object({
      query: z.string().trim().min(1).max(1000).describe('What to look for, in natural language or keywords'),
      maxResults: z
        .number()
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe('Passages to return (1–100, default 10)'),
      attributeFilter: AttributeFilterSchema.optional(),
      nextToken,
    })
    .strict(),
  outputSchema: z.object({
    query: z.string(),
    passages: z.array(PassageOut),
    nextToken: z.string().optional().describe('Pass back to get the next page'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal }) {
    const result = await ctx.q.search(
      {
        queryText: params.query,
        maxResults: params.maxResults ?? 10,
        attributeFilter: params.attributeFilter,
        nextToken: params.nextToken,
      },
      { signal },
    );
    const passages = result.passages.map((p, i) => ({ n: i + 1, ...p }));
    const text = passages.length
      ? [
          `Found ${passages.length} passage(s) for "${params.query}". Cite them as [n].`,
          '',
          renderPassages(result.passages),
          '',
          result.nextToken
            ? `More results exist: call search_relevant_content again with nextToken "${result.nextToken}".`
            : '',
          'Read a whole document with get_document and its documentId.',
        ]
          .filter((l, i, a) => l !== '' || a[i - 1] !== '')
          .join('\n')
      : `No passages found for "${params.query}" that this user may read. Try other words or a broader query${params.attributeFilter ? ', or drop the attributeFilter' : ''}.`;
    return {
      structured: {
        query: params.query,
        passages,
        ...(result.nextToken ? { nextToken: result.nextToken } : {}),
      },
      text: text.trim(),
    };
  },
});
