/**
 * @module Tool `search_relevant_content`: the passages of the Q index that match a query and that the
 * signed-in user may read (Q filters by the document ACLs), as numbered, citable sources with the
 * attributes to filter on. Citation numbers run on across pages (page-token.ts).
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { AttributeFilterSchema, FILTER_DOC } from './attribute-filter.js';
import { PAGE_TOKEN_MAX, unwrapPageToken, wrapPageToken } from './page-token.js';
import { PassageOut, nextTokenOf, renderPassages } from './shapes.js';

export const searchRelevantContent = defineTool({
  name: 'search_relevant_content',
  title: 'Search the company knowledge index',
  description: [
    "Search the company's Amazon Q Business index as the signed-in user (only documents they may read).",
    'Returns passages [n] to cite with title, URI, documentId and attributes; narrow with attributeFilter on those attributes, page with nextToken, read a whole document with get_document.',
  ].join(' '),
  inputSchema: z
    .object({
      query: z.string().trim().min(1).max(1000).describe('Natural language or keywords'),
      maxResults: z.number().int().min(1).max(100).optional().describe('Default 10'),
      attributeFilter: AttributeFilterSchema.optional().describe(FILTER_DOC),
      // Q's token in our wrapper: a little longer than Q's own bound.
      nextToken: nextTokenOf(PAGE_TOKEN_MAX),
    })
    .strict(),
  outputSchema: z.object({
    query: z.string(),
    passages: z.array(PassageOut),
    nextToken: z.string().optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal, documents }) {
    const key = { query: params.query, attributeFilter: params.attributeFilter };
    const page = params.nextToken ? unwrapPageToken(key, params.nextToken) : { qToken: undefined, shown: 0 };
    const result = await ctx.q.search(
      {
        queryText: params.query,
        maxResults: params.maxResults ?? 10,
        attributeFilter: params.attributeFilter,
        nextToken: page.qToken,
      },
      { signal },
    );
    const first = page.shown + 1;
    const passages = result.passages.map((p, i) => ({ n: first + i, ...p }));
    for (const p of passages) {
      const ds = p.attributes._data_source_id;
      documents.note(p.documentId, {
        title: p.title,
        uri: p.uri,
        dataSourceId: typeof ds === 'string' ? ds : undefined,
      });
    }
    const nextToken = result.nextToken
      ? wrapPageToken(key, { qToken: result.nextToken, shown: page.shown + passages.length })
      : undefined;
    const range = page.shown ? ` ([${first}]–[${first + passages.length - 1}])` : '';
    const text = passages.length
      ? [
          `Found ${passages.length} passage(s)${range} for "${params.query}". Cite them as [n]; narrow with an attributeFilter on the attributes shown.`,
          '',
          renderPassages(result.passages, first),
          '',
          nextToken
            ? `More results exist: call search_relevant_content again with the same query${params.attributeFilter ? ' and attributeFilter' : ''} and nextToken "${nextToken}".`
            : '',
          'Read a whole document with get_document and its documentId.',
        ]
          .filter((l, i, a) => l !== '' || a[i - 1] !== '')
          .join('\n')
      : page.shown
        ? `No more passages for "${params.query}" after the ${page.shown} already shown.`
        : `No passages found for "${params.query}" that this user may read. Try other words or a broader query${params.attributeFilter ? ', or drop the attributeFilter' : ''}.`;
    return {
      structured: { query: params.query, passages, ...(nextToken ? { nextToken } : {}) },
      text: text.trim(),
    };
  },
});
