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
    "Ask the company's Amazon Q Business assistant a question; it answers from the documents the signed-in user may read and cites them.",
    'Use it for questions that need a synthesized answer across documents; use search_relevant_content when you want raw passages to reason over yourself.',
    'Returns the answer with numbered citations [n] and their sources, plus conversationId and systemMessageId.',
    'To ask a follow-up in the same conversation, call chat again with conversationId and parentMessageId = the systemMessageId returned. Rate the answer with put_feedback.',
  ].join(' '),
  inputSchema: z
    .object({
      message: z.string().trim().min(1).max(7000).describe('The question or instruction for Q'),
      conversationId: qId('conversationId').optional(),
      parentMessageId: qId('systemMessageId of the previous answer')
        .optional()
        .describe('systemMessageId of the answer you are following up on (with conversationId)'),
      attributeFilter: AttributeFilterSchema.optional(),
    })
    .strict()
    .refine((p) => !p.parentMessageId || p.conversationId, {
      message: 'parentMessageId needs the conversationId it belongs to',
      path: ['conversationId'],
    }),
  outputSchema: z.object({
    answer: z.string(),
    conversationId: z.string(),
    systemMessageId: z
      .string()
      .optional()
      .describe('Pass as parentMessageId to follow up; messageId for put_feedback'),
    userMessageId: z.string().optional(),
    sources: z.array(SourceOut),
    streamed: z.boolean().describe('Whether the answer came through the streaming Chat API'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  async handler(params, { ctx, signal, progress }) {
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
    const follow = answer.systemMessageId
      ? `To follow up: call chat with conversationId "${answer.conversationId}" and parentMessageId "${answer.systemMessageId}".`
      : `To follow up: call chat with conversationId "${answer.conversationId}".`;
    const text = [
      answer.answer || '(Q returned an empty answer.)',
      answer.sources.length ? `\nSources:\n${renderSources(answer.sources)}` : '\n(No sources cited.)',
      `\n${follow}`,
    ].join('\n');
    return { structured: { ...answer, streamed: Boolean(progress) }, text };
  },
});
