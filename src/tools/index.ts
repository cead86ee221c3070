/**
 * @module The explicit list of tools, and which of them each identity mode offers: a Q index data
 * accessor is granted SearchRelevantContent only, so it gets search and whoami.
 */
import type { ModeConfig } from '../config/schema.js';
import type { ToolDefinition } from './define-tool.js';
import { searchRelevantContent } from './search-relevant-content.js';
import { chat } from './chat.js';
import { listConversations } from './list-conversations.js';
import { getConversation } from './get-conversation.js';
import { deleteConversation } from './delete-conversation.js';
import { putFeedback } from './put-feedback.js';
import { getDocument } from './get-document.js';
import { whoami } from './whoami.js';

export const allTools = [
  searchRelevantContent,
  chat,
  listConversations,
  getConversation,
  deleteConversation,
  putFeedback,
  getDocument,
  whoami,
] as unknown as ToolDefinition[];

export function toolsForMode(mode: ModeConfig['type']): ToolDefinition[] {
  if (mode === 'data-accessor')
    return allTools.filter((t) => t.name === 'search_relevant_content' || t.name === 'whoami');
  return allTools;
}

export type { ToolContext, ToolUser } from './context.js';
export type { ToolDefinition } from './define-tool.js';
