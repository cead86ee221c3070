/**
 * @module Tool `delete_conversation`: deletes one of the user's Q conversations (destructive).
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { qId } from './shapes.js';

export const deleteConversation = defineTool({
  name: 'delete_conversation',
  title: 'Delete a Q conversation',
  description: [
    "Permanently delete one of the signed-in user's Amazon Q Business conversations and its messages.",
    'Use it only when the user asks to delete a conversation; this cannot be undone.',
    'Returns the deleted conversationId. Find ids with list_conversations.',
  ].join(' '),
  inputSchema: z.object({ conversationId: qId('conversationId') }).strict(),
  outputSchema: z.object({ conversationId: z.string(), deleted: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal }) {
    await ctx.q.deleteConversation({ conversationId: params.conversationId }, { signal });
    return {
      structured: { conversationId: params.conversationId, deleted: true },
      text: `Deleted conversation ${params.conversationId}.`,
    };
  },
});
