/**
 * @module Tool `chat`: asks Amazon Q Business a question and returns its grounded answer with numbered
 * sources and the ids to continue the conversation. Streams the answer through progress
 * notifications when the client sent a progressToken; cancelling the request aborts the upstream call.
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { AttributeFilterSchema } from './attribute-filter.js';
import { SourceOut, qId, renderSources } from './shapes.js';

export const chat = defineTool({
  name: 'chat',
  title: 'Ask Amazon Q Business',
  description: [
    "Ask the company's Amazon Q Business assistant: it answers from documents the signed-in user may read, citing sources [n].",
    'To follow up, call chat with conversationId and parentMessageId = the returned systemMessageId; to rate the answer, put_feedback with messageId = systemMessageId.',
  ].join(' '),
  inputSchema: z
    .object({
      message: z.string().trim().min(1).max(7000),
      conversationId: qId('conversationId').optional(),
      parentMessageId: qId('systemMessageId')
        .optional()
        .describe('systemMessageId of the answer followed up on'),
      attributeFilter: AttributeFilterSchema.optional().describe("As search_relevant_content's"),
    })
    .strict()
    .refine((p) => !p.parentMessageId || p.conversationId, {
      message: 'parentMessageId needs the conversationId it belongs to',
      path: ['conversationId'],
    }),
  outputSchema: z.object({
    answer: z.string(),
    conversationId: z.string(),
    systemMessageId: z.string().optional(),
    userMessageId: z.string().optional(),
    sources: z.array(SourceOut),
    streamed: z.boolean(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(params, { ctx, signal, progress, documents }) {
    const request = {
      message: params.message,
      conversationId: params.conversationId,
      parentMessageId: params.parentMessageId,
      attributeFilter: params.attributeFilter,
    };
    const answer = progress
      ? await ctx.q.chatStream(request, {
          signal,
          onText: (soFar) => {
            progress(soFar.length, soFar).catch((e: unknown) =>
              ctx.logger.debug({ err: String(e) }, 'progress notification not sent'),
            );
          },
        })
      : await ctx.q.chatSync(request, { signal });
    for (const s of answer.sources) {
      documents.note(s.documentId, { title: s.title, uri: s.url, dataSourceId: s.dataSourceId });
    }
    const { conversationId: c, systemMessageId: m } = answer;
    const next = m
      ? [
          `To follow up: call chat with conversationId "${c}" and parentMessageId "${m}".`,
          `To rate this answer: call put_feedback with conversationId "${c}" and messageId "${m}" (the systemMessageId).`,
        ]
      : [`To follow up: call chat with conversationId "${c}".`];
    const text = [
      answer.answer || '(Q returned an empty answer.)',
      answer.sources.length ? `\nSources:\n${renderSources(answer.sources)}` : '\n(No sources cited.)',
      `\n${next.join('\n')}`,
    ].join('\n');
    return { structured: { ...answer, streamed: Boolean(progress) }, text };
  },
});
