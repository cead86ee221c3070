/**
 * @module ChatSync and Chat: one conversation turn (owned by its user), answered the same way by both
 * APIs; Chat streams the answer as several textEvents then a metadataEvent, can be cut by a fault,
 * and stops (counting `qbusiness:Chat:aborted`) when the client goes away.
 */
import { randomUUID } from 'node:crypto';
import { countCall, takeStreamCut, type SandboxState } from '../../state.js';
import type { EmulatorRequest, EmulatorResponse, SigningScope, Caller } from '../types.js';
import type { Access } from './access.js';
import { composeAnswer, creatorAnswer, streamChunks, type Answer } from './answer.js';
import type { Engine } from './engine.js';
import { accessDenied, jsonResponse, notFound, validationError } from './errors.js';
import { decodeInput, encodeEvent, requestSignature } from './eventstream.js';
import { parseFilter, type Filter } from './filter.js';
import type { ChatTurnResult, ConversationRecord, SourceAttributionRecord } from './store.js';
import { optionalEnum, optionalId, optionalText, parseBody, requireText } from './validate.js';

const CHAT_MODES = ['RETRIEVAL_MODE', 'CREATOR_MODE', 'PLUGIN_MODE'] as const;
/** Pause between streamed text events, so that a client can really cancel mid-answer. */
const STREAM_PACE_MS = 15;

interface TurnInput {
  userMessage: string;
  conversationId?: string;
  parentMessageId?: string;
  filter?: Filter;
  chatMode?: (typeof CHAT_MODES)[number];
  clientToken?: string;
}

export const seconds = (d: Date) => d.getTime() / 1000;

export const wireAttribution = (a: SourceAttributionRecord) => ({ ...a, updatedAt: seconds(a.updatedAt) });

/** Finds the caller's conversation, or answers ResourceNotFound (also for another user's conversation). */
export function ownConversation(
  state: SandboxState,
  access: Access,
  conversationId: string,
): ConversationRecord {
  const conv = state.q.conversations.get(conversationId);
  if (!conv || conv.owner !== access.owner || conv.applicationId !== access.app.applicationId) {
    throw notFound('Conversation', conversationId, `Conversation ${conversationId} not found.`);
  }
  return conv;
}

/** Runs one turn: checks the conversation, answers, records both messages. Same for ChatSync and Chat. */
function runTurn(
  engine: Engine,
  state: SandboxState,
  access: Access,
  input: TurnInput,
): ChatTurnResult & { answer: Answer } {
  if (input.chatMode === 'PLUGIN_MODE') {
    throw validationError(
      'PLUGIN_MODE needs chatModeConfiguration.pluginConfiguration; this application has no plugins.',
      [{ name: 'chatMode', message: 'No plugin is configured for this application' }],
    );
  }
  let conv: ConversationRecord;
  if (input.conversationId) {
    conv = ownConversation(state, access, input.conversationId);
    if (input.parentMessageId && !conv.messages.some((m) => m.messageId === input.parentMessageId)) {
      throw notFound(
        'Message',
        input.parentMessageId,
        `Message ${input.parentMessageId} not found in the conversation.`,
      );
    }
  } else {
    if (input.parentMessageId) {
      throw validationError('parentMessageId requires conversationId.', [
        { name: 'parentMessageId', message: 'Only valid together with conversationId' },
      ]);
    }
    conv = {
      conversationId: randomUUID(),
      applicationId: access.app.applicationId,
      owner: access.owner,
      title: input.userMessage.slice(0, 100),
      startTime: new Date(),
      messages: [],
    };
    state.q.conversations.set(conv.conversationId, conv);
  }
  const answer =
    input.chatMode === 'CREATOR_MODE'
      ? creatorAnswer(input.userMessage)
      : composeAnswer(engine, access.app, access.principal, input.userMessage, input.filter);
  const now = Date.now();
  const userMessageId = randomUUID();
  const systemMessageId = randomUUID();
  conv.messages.push(
    {
      messageId: userMessageId,
      type: 'USER',
      body: input.userMessage,
      time: new Date(now),
      sourceAttribution: [],
    },
    {
      messageId: systemMessageId,
      type: 'SYSTEM',
      body: answer.text,
      time: new Date(now + 1),
      sourceAttribution: answer.sourceAttributions,
    },
  );
  return {
    conversationId: conv.conversationId,
    systemMessage: answer.text,
    systemMessageId,
    userMessageId,
    sourceAttributions: answer.sourceAttributions,
    answer,
  };
}

export function chatSync(
  engine: Engine,
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
): EmulatorResponse {
  const body = parseBody(req.body);
  for (const unsupported of ['attachments', 'actionExecution', 'authChallengeResponse'] as const) {
    if (body[unsupported] !== undefined) {
      throw validationError(`${unsupported} is not supported by this application.`, [
        { name: unsupported, message: 'Not supported' },
      ]);
    }
  }
  const input: TurnInput = {
    userMessage: requireText('userMessage', body.userMessage, 1, 7000),
    conversationId: optionalId('conversationId', body.conversationId),
    parentMessageId: optionalId('parentMessageId', body.parentMessageId),
    filter: body.attributeFilter === undefined ? undefined : parseFilter(body.attributeFilter),
    chatMode: optionalEnum('chatMode', body.chatMode, CHAT_MODES),
    clientToken: optionalText('clientToken', body.clientToken, 1, 100),
  };
  // The SDK fills clientToken itself and keeps it across retries: a retried turn is answered once.
  const tokenKey = input.clientToken ? `${access.owner}\n${input.clientToken}` : undefined;
  const earlier = tokenKey ? state.q.clientTokens.get(tokenKey) : undefined;
  const turn = earlier ?? runTurn(engine, state, access, input);
  if (tokenKey && !earlier) {
    const { answer: _answer, ...result } = turn as ChatTurnResult & { answer?: Answer };
    state.q.clientTokens.set(tokenKey, result);
  }
  return jsonResponse(200, {
    conversationId: turn.conversationId,
    systemMessage: turn.systemMessage,
    systemMessageId: turn.systemMessageId,
    userMessageId: turn.userMessageId,
    sourceAttributions: turn.sourceAttributions.map(wireAttribution),
    failedAttachments: [],
  });
}

/** The IAM-federation auto-subscription quirk: a new user's first ChatSync is refused once. */
export function subscriptionQuirk(state: SandboxState, access: Access): void {
  if (access.kind !== 'iam-federation' || !state.switches.subscriptionQuirk) return;
  const key = `${access.app.applicationId}\n${access.principal.email.toLowerCase()}`;
  if (state.subscribedUsers.has(key)) return;
  state.subscribedUsers.add(key);
  throw accessDenied(
    `User ${access.principal.email} does not have a subscription to Amazon Q Business application ${access.app.applicationId}. A subscription is being created; try again.`,
  );
}

export async function chatStream(
  engine: Engine,
  state: SandboxState,
  access: Access,
  req: EmulatorRequest,
  caller: Caller,
  scope: SigningScope,
): Promise<EmulatorResponse> {
  if (caller.kind !== 'session') throw accessDenied('Chat requires session credentials.');
  const events = await decodeInput(
    req.body,
    caller.session,
    scope,
    requestSignature(req.headers['authorization']),
  );
  let userMessage: string | undefined;
  let filter: Filter | undefined;
  let chatMode: TurnInput['chatMode'];
  for (const ev of events) {
    if (ev.type === 'configurationEvent') {
      chatMode = optionalEnum('configurationEvent.chatMode', ev.payload.chatMode, CHAT_MODES);
      if (ev.payload.attributeFilter !== undefined)
        filter = parseFilter(ev.payload.attributeFilter, 'configurationEvent.attributeFilter');
    } else if (ev.type === 'textEvent') {
      userMessage = requireText('textEvent.userMessage', ev.payload.userMessage, 1, 7000);
    } else if (ev.type !== 'endOfInputEvent') {
      throw validationError(`${ev.type} is not supported by this application.`, [
        { name: ev.type, message: 'Not supported' },
      ]);
    }
  }
  if (userMessage === undefined) {
    throw validationError('The input stream must contain a textEvent with the userMessage.', [
      { name: 'textEvent', message: 'Missing' },
    ]);
  }
  const turn = runTurn(engine, state, access, {
    userMessage,
    conversationId: optionalId('conversationId', req.query.get('conversationId') ?? undefined),
    parentMessageId: optionalId('parentMessageId', req.query.get('parentMessageId') ?? undefined),
    filter,
    chatMode,
  });
  const cut = takeStreamCut(state, 'qbusiness:Chat');
  return {
    status: 200,
    headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomUUID() },
    body: streamTurn(state, turn, cut, req.signal),
  };
}

async function* streamTurn(
  state: SandboxState,
  turn: ChatTurnResult & { answer: Answer },
  cut: boolean,
  signal: AbortSignal,
): AsyncIterable<Uint8Array> {
  // Ends early when the client goes away: the signal fires, or the server stops pulling (return()).
  let done = false;
  let counted = false;
  const onAbort = () => {
    if (done || counted) return;
    counted = true;
    countCall(state, 'qbusiness:Chat:aborted');
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const ids = {
      conversationId: turn.conversationId,
      userMessageId: turn.userMessageId,
      systemMessageId: turn.systemMessageId,
    };
    const chunks = streamChunks(turn.systemMessage);
    for (let i = 0; i < chunks.length; i++) {
      if (signal.aborted) return;
      const frame = encodeEvent('textEvent', {
        ...ids,
        systemMessageType: turn.answer.type,
        systemMessage: chunks[i],
      });
      if (cut && i === Math.max(1, Math.floor(chunks.length / 2))) {
        // A connection lost mid-answer: half a frame arrives, then the stream is reset; no metadata event.
        yield frame.subarray(0, Math.floor(frame.byteLength / 2));
        done = true;
        throw new Error('sandbox fault: chat stream cut mid-way (cutStream)');
      }
      yield frame;
      const stall = i === 0 ? (state.faults.get('qbusiness:Chat')?.stallMs ?? 0) : 0;
      if (!(await pause(STREAM_PACE_MS + stall, signal))) return;
    }
    yield encodeEvent('metadataEvent', {
      ...ids,
      finalTextMessage: turn.systemMessage,
      sourceAttributions: turn.sourceAttributions.map(wireAttribution),
    });
    done = true;
  } finally {
    signal.removeEventListener('abort', onAbort);
    onAbort();
  }
}

/** Waits `ms`, or less if the signal aborts; says whether to go on. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve(true);
    }, ms);
    const stop = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
