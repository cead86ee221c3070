/**
 * @module Tool `list_conversations`: the signed-in user's Amazon Q Business conversations, newest first.
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { nextToken } from './shapes.js';

export const listConversations = defineTool({
  name: 'list_conversations',
  title: 'List Q conversations',
  description: [
    "List the user's Amazon Q Business conversations (id, title, start time), newest first, to read (get_conversation), continue (chat with conversationId) or delete (delete_conversation) one.",
  ].join(' '),
  inputSchema: z
    .object({
      maxResults: z.number().int().min(1).max(100).optional(),
      nextToken,
    })
    .strict(),
  outputSchema: z.object({
    conversations: z.array(
      z.object({
        conversationId: z.string(),
        title: z.string().optional(),
        startTime: z.string().optional(),
      }),
    ),
    nextToken: z.string().optional(),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal }) {
    const out = await ctx.q.listConversations(
      { maxResults: params.maxResults, nextToken: params.nextToken },
      { signal },
    );
    const lines = out.conversations.map(
      (c, i) =>
        `${i + 1}. ${c.title ?? '(untitled)'} — conversationId: ${c.conversationId}${c.startTime ? ` · started ${c.startTime}` : ''}`,
    );
    const text = out.conversations.length
      ? [
          `${out.conversations.length} conversation(s):`,
          ...lines,
          out.nextToken ? `More: call again with nextToken "${out.nextToken}".` : '',
        ]
          .filter(Boolean)
          .join('\n')
      : 'This user has no Amazon Q Business conversations yet. Start one with chat.';
    return { structured: out, text };
  },
});
