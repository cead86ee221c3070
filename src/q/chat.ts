/**
 * @module Chat with Q: ChatSync for one-shot answers, and the streaming Chat API (event streams both
 * ways) when the caller wants the answer as it grows. Both share one idempotency token across
 * retries; a stream is only retried before it has delivered any text.
 */
import { randomUUID } from 'node:crypto';
import { ChatCommand, ChatSyncCommand, type ChatInputStream } from '@aws-sdk/client-qbusiness';
import { ErrorCode, QindexError } from '../errors.js';
import type { CallOptions, QCore } from './client.js';
import { toSdkFilter, toSources, type ChatAnswer, type ChatRequest, type Source } from './types.js';

export async function chatSync(
  core: QCore,
  req: ChatRequest,
  options: CallOptions = {},
): Promise<ChatAnswer> {
  const clientToken = randomUUID();
  const out = await core.retry(
    'ChatSync',
    (a) =>
      core.sdk.send(
        new ChatSyncCommand({
          applicationId: core.applicationId,
          userMessage: req.message,
          conversationId: req.conversationId,
          parentMessageId: req.parentMessageId,
          attributeFilter: req.attributeFilter ? toSdkFilter(req.attributeFilter) : undefined,
          clientToken,
        }),
        { abortSignal: a.signal },
      ),
    { signal: options.signal },
  );
  return answer({
    answer: out.systemMessage ?? '',
    conversationId: out.conversationId,
    systemMessageId: out.systemMessageId,
    userMessageId: out.userMessageId,
    sources: toSources(out.sourceAttributions),
    notes: [
      out.actionReview
        ? 'Q asked to review a plugin action; this server does not execute plugin actions.'
        : '',
      out.authChallengeRequest
        ? 'Q asked for a plugin sign-in; open the Q web experience to authorize it.'
        : '',
    ],
  });
}

export async function chatStream(
  core: QCore,
  req: ChatRequest,
  options: CallOptions & { onText(answerSoFar: string): void },
): Promise<ChatAnswer> {
  const clientToken = randomUUID();
  let delivered = false;
  return core.retry(
    'Chat',
    async (a) => {
      const out = await core.sdk.send(
        new ChatCommand({
          applicationId: core.applicationId,
          conversationId: req.conversationId,
          parentMessageId: req.parentMessageId,
          clientToken,
          inputStream: inputEvents(req),
        }),
        { abortSignal: a.signal },
      );
      let text = '';
      let finalText: string | undefined;
      let sources: Source[] = [];
      const ids: { conversationId?: string; systemMessageId?: string; userMessageId?: string } = {};
      const notes: string[] = [];
      try {
        for await (const event of out.outputStream ?? []) {
          if (options.signal?.aborted) break;
          // The timeout counts silence between events, not the length of the whole answer.
          a.alive();
          const meta = event.textEvent ?? event.metadataEvent;
          if (meta) {
            ids.conversationId ??= meta.conversationId;
            ids.systemMessageId ??= meta.systemMessageId;
            ids.userMessageId ??= meta.userMessageId;
          }
          if (event.textEvent?.systemMessage) {
            text += event.textEvent.systemMessage;
            delivered = true;
            options.onText(text);
          } else if (event.metadataEvent) {
            sources = toSources(event.metadataEvent.sourceAttributions);
            finalText = event.metadataEvent.finalTextMessage ?? finalText;
          } else if (event.actionReviewEvent) {
            notes.push('Q asked to review a plugin action; this server does not execute plugin actions.');
          } else if (event.authChallengeRequestEvent) {
            notes.push('Q asked for a plugin sign-in; open the Q web experience to authorize it.');
          } else if (event.failedAttachmentEvent) {
            notes.push('An attachment failed.');
          }
        }
      } catch (e) {
        if (delivered && !options.signal?.aborted) {
          throw new QindexError(
            ErrorCode.QStreamInterrupted,
            `Amazon Q Business Chat stopped streaming after ${text.length} characters of the answer.`,
            { cause: e, retryable: true, remedy: 'Ask again; the partial answer was not kept.' },
          );
        }
        throw e;
      }
      if (options.signal?.aborted) {
        throw new QindexError(ErrorCode.Cancelled, 'Amazon Q Business Chat was cancelled by the client.', {
          retryable: true,
        });
      }
      return answer({ answer: finalText ?? text, ...ids, sources, notes });
    },
    { signal: options.signal, canRetry: () => !delivered },
  );
}

async function* inputEvents(req: ChatRequest): AsyncIterable<ChatInputStream> {
  if (req.attributeFilter) {
    yield { configurationEvent: { attributeFilter: toSdkFilter(req.attributeFilter) } };
  }
  yield { textEvent: { userMessage: req.message } };
  yield { endOfInputEvent: {} };
}

function answer(a: {
  answer: string;
  conversationId?: string;
  systemMessageId?: string;
  userMessageId?: string;
  sources: Source[];
  notes: string[];
}): ChatAnswer {
  if (!a.conversationId) {
    throw new QindexError(ErrorCode.QBadResponse, 'Amazon Q Business answered without a conversation id.', {
      retryable: true,
    });
  }
  const notes = a.notes.filter(Boolean);
  return {
    answer: notes.length ? `${a.answer}\n\n(${notes.join(' ')})` : a.answer,
    conversationId: a.conversationId,
    ...(a.systemMessageId ? { systemMessageId: a.systemMessageId } : {}),
    ...(a.userMessageId ? { userMessageId: a.userMessageId } : {}),
    sources: a.sources,
  };
}
