/**
 * @module Tool `put_feedback`: rates one of Q's answers (useful or not, with a reason and comment).
 */
import { z } from 'zod';
import { defineTool } from './define-tool.js';
import { NO_CONTROL_CHARS, qId } from './shapes.js';

const REASONS = [
  'HELPFUL',
  'NOT_HELPFUL',
  'HARMFUL_OR_UNSAFE',
  'INCORRECT_OR_MISSING_SOURCES',
  'NOT_BASED_ON_DOCUMENTS',
  'NOT_COMPLETE',
  'NOT_CONCISE',
  'FACTUALLY_CORRECT',
  'NOT_FACTUALLY_CORRECT',
  'COMPLETE',
  'RELEVANT_SOURCES',
  'OTHER',
] as const;

export const putFeedback = defineTool({
  name: 'put_feedback',
  title: 'Rate a Q answer',
  description: [
    'Rate a Q answer as useful or not when the user says it was good or bad.',
    'messageId is the systemMessageId chat returned (or a SYSTEM messageId from get_conversation).',
  ].join(' '),
  inputSchema: z
    .object({
      conversationId: qId('conversationId'),
      messageId: qId('systemMessageId'),
      usefulness: z.enum(['USEFUL', 'NOT_USEFUL']),
      reason: z.enum(REASONS).optional(),
      comment: z
        .string()
        // Q refuses control characters (\P{C}*): line breaks and tabs become spaces.
        .overwrite((c) => c.replace(/[\t\n\r]+/g, ' ').trim())
        .min(1)
        .max(1000)
        .regex(NO_CONTROL_CHARS, 'a comment has no control characters')
        .optional()
        .describe("The user's own words, if any"),
    })
    .strict(),
  outputSchema: z.object({ conversationId: z.string(), messageId: z.string(), recorded: z.boolean() }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(params, { ctx, signal }) {
    await ctx.q.putFeedback(params, { signal });
    return {
      structured: { conversationId: params.conversationId, messageId: params.messageId, recorded: true },
      text: `Feedback recorded: ${params.usefulness}${params.reason ? ` (${params.reason})` : ''} for message ${params.messageId}.`,
    };
  },
});
