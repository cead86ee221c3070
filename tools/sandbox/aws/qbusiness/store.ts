/**
 * @module The Q data plane's records kept in the sandbox state: conversations with their messages,
 * feedback, and ChatSync results by client token (so a retried request gets the same answer).
 */

export interface SourceAttributionRecord {
  title: string;
  snippet: string;
  url: string;
  citationNumber: number;
  updatedAt: Date;
  textMessageSegments: Array<{ beginOffset: number; endOffset: number; snippetExcerpt: { text: string } }>;
  documentId: string;
  indexId: string;
  datasourceId: string;
}

export interface MessageRecord {
  messageId: string;
  type: 'USER' | 'SYSTEM';
  body: string;
  time: Date;
  sourceAttribution: SourceAttributionRecord[];
}

export interface ConversationRecord {
  conversationId: string;
  applicationId: string;
  /** The owner: identity kind and user id, e.g. `idc:alice`. */
  owner: string;
  title: string;
  startTime: Date;
  messages: MessageRecord[];
}

export interface FeedbackRecord {
  applicationId: string;
  conversationId: string;
  messageId: string;
  owner: string;
  usefulness?: string;
  reason?: string;
  comment?: string;
  submittedAt?: Date;
  messageCopiedAt?: Date;
}

export interface ChatTurnResult {
  conversationId: string;
  systemMessage: string;
  systemMessageId: string;
  userMessageId: string;
  sourceAttributions: SourceAttributionRecord[];
}

export interface QState {
  conversations: Map<string, ConversationRecord>;
  feedback: FeedbackRecord[];
  /** `${owner}\n${clientToken}` → the turn it produced. */
  clientTokens: Map<string, ChatTurnResult>;
}

export const createQState = (): QState => ({
  conversations: new Map(),
  feedback: [],
  clientTokens: new Map(),
});

export function clearQState(q: QState): void {
  q.conversations.clear();
  q.feedback.length = 0;
  q.clientTokens.clear();
}
