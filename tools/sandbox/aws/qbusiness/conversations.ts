/**
 * @module ListConversations, ListMessages, DeleteConversation and PutFeedback: a user sees and touches
 * only their own conversations; anyone else gets ResourceNotFoundException.
 */
import type { SandboxState } from '../../state.js';
import type { EmulatorRequest, EmulatorResponse } from '../types.js';
import type { Access } from './access.js';
import { ownConversation, seconds, wireAttribution } from './chat.js';
import { jsonResponse, notFound, validationError } from './errors.js';
import { decodeToken, page } from './tokens.js';
import { optionalEnum, optionalInt, optionalNextToken, optionalText, parseBody } from './validate.js';

const USEFULNESS = ['USEFUL', 'NOT_USEFUL'] as const;
const REASONS = [
  'NOT_FACTUALLY_CORRECT',
  'HARMFUL_OR_UNSAFE',
  'INCORRECT_OR_MISSING_SOURCES',
  'NOT_HELPFUL',
  'FACTUALLY_CORRECT',
  'COMPLETE',
  'RELEVANT_SOURCES',
  'HELPFUL',
  'NOT_BASED_ON_DOCUMENTS',
  'NOT_COMPLETE',
  'NOT_CONCISE',
  'OTHER',
] as const;

/** MessageBody: at most 1,000 characters, counted as Smithy does (code points). */
const MESSAGE_BODY_MAX = 1000;

/** A listed body within the model's bound: longer ones (a 7,000-character question) are cut, never split mid-pair. */
function listedBody(body: string): string {
  if (body.length <= MESSAGE_BODY_MAX) return body;
  return Array.from(body).slice(0, MESSAGE_BODY_MAX).join('');
}

function paging(req: EmulatorRequest) {
  return {
    maxResults: optionalInt('maxResults', req.query.get('maxResults') ?? undefined, 1, 100) ?? 100,
    nextToken: optionalNextToken(req.query.get('nextToken') ?? undefined),
  };
}

export function listConversations(
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
): EmulatorResponse {
  const { maxResults, nextToken } = paging(req);
  const mine = [...state.q.conversations.values()]
    .filter((c) => c.owner === access.owner && c.applicationId === access.app.applicationId)
    .sort(
      (a, b) =>
        b.startTime.getTime() - a.startTime.getTime() || a.conversationId.localeCompare(b.conversationId),
    );
  const context = `ListConversations\n${access.app.applicationId}\n${access.owner}`;
  const offset = nextToken ? decodeToken(state.signingKey, context, nextToken) : 0;
  const result = page(state.signingKey, context, mine, offset, maxResults);
  return jsonResponse(200, {
    conversations: result.items.map((c) => ({
      conversationId: c.conversationId,
      title: c.title,
      startTime: seconds(c.startTime),
    })),
    ...(result.nextToken ? { nextToken: result.nextToken } : {}),
  });
}

/** Messages oldest first, each with its body (cut to the model's bound), time, type and the attributions of system messages. */
export function listMessages(
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
  conversationId: string,
): EmulatorResponse {
  const { maxResults, nextToken } = paging(req);
  const conv = ownConversation(state, access, conversationId);
  const context = `ListMessages\n${access.app.applicationId}\n${access.owner}\n${conversationId}`;
  const offset = nextToken ? decodeToken(state.signingKey, context, nextToken) : 0;
  const result = page(state.signingKey, context, conv.messages, offset, maxResults);
  return jsonResponse(200, {
    messages: result.items.map((m) => ({
      messageId: m.messageId,
      body: listedBody(m.body),
      time: seconds(m.time),
      type: m.type,
      ...(m.type === 'SYSTEM' ? { sourceAttribution: m.sourceAttribution.map(wireAttribution) } : {}),
    })),
    ...(result.nextToken ? { nextToken: result.nextToken } : {}),
  });
}

export function deleteConversation(
  state: SandboxState,
  access: Access,
  conversationId: string,
): EmulatorResponse {
  ownConversation(state, access, conversationId);
  state.q.conversations.delete(conversationId);
  return jsonResponse(200, {});
}

export function putFeedback(
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
  conversationId: string,
  messageId: string,
): EmulatorResponse {
  // The whole input is validated before any resource is looked up, as the service does.
  const body = parseBody(req.body);
  const raw = body.messageUsefulness as Record<string, unknown> | undefined;
  let usefulness: Record<string, unknown> = {};
  if (raw !== undefined) {
    if (typeof raw !== 'object' || raw === null)
      throw validationError('messageUsefulness must be an object.');
    if (raw.usefulness === undefined || raw.submittedAt === undefined) {
      throw validationError('messageUsefulness.usefulness and messageUsefulness.submittedAt are required.', [
        { name: 'messageUsefulness', message: 'usefulness and submittedAt are required' },
      ]);
    }
    usefulness = {
      usefulness: optionalEnum('messageUsefulness.usefulness', raw.usefulness, USEFULNESS),
      reason: optionalEnum('messageUsefulness.reason', raw.reason, REASONS),
      comment: optionalText('messageUsefulness.comment', raw.comment, 0, 1000),
      submittedAt: typeof raw.submittedAt === 'number' ? new Date(raw.submittedAt * 1000) : undefined,
    };
  }
  const conv = ownConversation(state, access, conversationId);
  if (!conv.messages.some((m) => m.messageId === messageId)) {
    throw notFound('Message', messageId, `Message ${messageId} not found.`);
  }
  state.q.feedback.push({
    applicationId: access.app.applicationId,
    conversationId,
    messageId,
    owner: access.owner,
    ...(typeof body.messageCopiedAt === 'number'
      ? { messageCopiedAt: new Date(body.messageCopiedAt * 1000) }
      : {}),
    ...usefulness,
  });
  // PutFeedback has no output: an empty body, but like every answer it names its request.
  return jsonResponse(200, undefined);
}
