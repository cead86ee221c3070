/**
 * @module Tool `delete_conversation`: deletes one of the user's Q conversations (destructive). Deleting
 * one that is already gone succeeds, as its idempotent hint promises: Q answers ResourceNotFoundException
 * for the conversation, which here means the end state the caller wanted.
 */
import { z } from 'zod';
import { ErrorCode, findCode } from '../errors.js';
import { defineTool } from './define-tool.js';
import { qId } from './shapes.js';

export const deleteConversation = defineTool({
  name: 'delete_conversation',
  title: 'Delete a Q conversation',
  description: [
    "Permanently delete one of the user's Q conversations, only when the user asks: it cannot be undone.",
    'Deleting one already gone succeeds.',
  ].join(' '),
  inputSchema: z.object({ conversationId: qId('conversationId') }).strict(),
  outputSchema: z.object({
    conversationId: z.string(),
    deleted: z.boolean(),
    alreadyGone: z.boolean().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal }) {
    const { conversationId } = params;
    try {
      await ctx.q.deleteConversation({ conversationId }, { signal });
    } catch (e) {
      if (!conversationNotFound(e, conversationId)) throw e;
      return {
        structured: { conversationId, deleted: true, alreadyGone: true },
        text: `Conversation ${conversationId} is already gone (deleted earlier, or not this user's): nothing to delete.`,
      };
    }
    return { structured: { conversationId, deleted: true }, text: `Deleted conversation ${conversationId}.` };
  },
});

/**
 * Q's not-found names the missing resource (resourceType, resourceId): only the conversation itself
 * counts as gone; a missing application is a configuration error and stays one.
 */
function conversationNotFound(e: unknown, conversationId: string): boolean {
  const notFound = findCode(e, ErrorCode.QNotFound);
  if (!notFound) return false;
  const { resourceType: type, resourceId: id } = (notFound.cause ?? {}) as Record<string, unknown>;
  if (type === undefined && id === undefined) return false;
  return (
    (type === undefined || /^conversation$/i.test(String(type))) &&
    (id === undefined || id === conversationId)
  );
}
