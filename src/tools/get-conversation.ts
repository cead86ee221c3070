/**
 * @module Tool `get_conversation`: the messages of one of the user's Q conversations, with sources.
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { SourceOut, nextToken, qId, renderSources } from './shapes.js';

export const getConversation = defineTool({
  name: 'get_conversation',
  title: 'Read a Q conversation',
  description: [
    "Read one of the user's Q conversations (ids from list_conversations or chat): questions and Q's answers with sources, each with messageId, type (USER or SYSTEM) and time.",
  ].join(' '),
  inputSchema: z
    .object({
      conversationId: qId('conversationId'),
      maxResults: z.number().int().min(1).max(100).optional(),
      nextToken,
    })
    .strict(),
  outputSchema: z.object({
    conversationId: z.string(),
    messages: z.array(
      z.object({
        messageId: z.string(),
        type: z.string(),
        body: z.string(),
        time: z.string().optional(),
        sources: z.array(SourceOut),
      }),
    ),
    nextToken: z.string().optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal, documents }) {
    const out = await ctx.q.listMessages(params, { signal });
    for (const s of out.messages.flatMap((m) => m.sources)) {
      documents.note(s.documentId, { title: s.title, uri: s.url, dataSourceId: s.dataSourceId });
    }
    const text = out.messages.length
      ? [
          `Conversation ${params.conversationId}, ${out.messages.length} message(s):`,
          ...out.messages.map((m) => {
            const head = `— ${m.type === 'USER' ? 'User' : 'Q'}${m.time ? ` (${m.time})` : ''} [messageId: ${m.messageId}]`;
            return `${head}\n${m.body}${m.sources.length ? `\nSources:\n${renderSources(m.sources)}` : ''}`;
          }),
          out.nextToken ? `More: call again with nextToken "${out.nextToken}".` : '',
        ]
          .filter(Boolean)
          .join('\n\n')
      : `Conversation ${params.conversationId} has no messages.`;
    return { structured: { conversationId: params.conversationId, ...out }, text };
  },
});
