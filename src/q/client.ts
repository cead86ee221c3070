/**
 * @module The Q Business client the tools use: one SDK `QBusinessClient` per credential provider,
 * built once, and one small function per operation returning plain shapes (types.ts). Retries and
 * error mapping live in retry.ts/errors.ts; chat and document fetching in chat.ts/document.ts.
 */
import type { QBusinessClient } from '@aws-sdk/client-qbusiness';
import {
  DeleteConversationCommand,
  ListConversationsCommand,
  ListMessagesCommand,
  PutFeedbackCommand,
  SearchRelevantContentCommand,
} from '@aws-sdk/client-qbusiness';
import type { NodeHttp2Handler } from '@smithy/node-http-handler';
import type { QindexConfig } from '../config/schema.js';
import type {
  ActingIdentity,
  CredentialProvider,
  CredentialSource,
  MemoizedCredentials,
} from '../identity/provider.js';
import { sdkLogger, type Logger } from '../log.js';
import { SharedSessionHandler } from './transport.js';
import { buildSdk, callOwner, sharedSdk, type CallOwner } from './sdk.js';
import { withRetries, type Attempt, type RetryDeps, type RetryOptions } from './retry.js';
import { configuredResourceMissing } from './errors.js';
import { chatStream, chatSync } from './chat.js';
import { getDocumentText, type DocumentRequest } from './document.js';
import { documentCache, type DocumentCache } from './document-cache.js';
import {
  toMessage,
  toPassage,
  toSdkFilter,
  type AttributeFilterInput,
  type ChatAnswer,
  type ChatRequest,
  type ConversationMessage,
  type ConversationSummary,
  type DocumentText,
  type SearchResult,
} from './types.js';

export * from './types.js';

export interface CallOptions {
  signal?: AbortSignal;
}

export interface QClient {
  readonly applicationId: string;
  readonly retrieverId: string;
  readonly indexId: string | undefined;
  readonly region: string;
  search(
    input: {
      queryText: string;
      maxResults?: number;
      attributeFilter?: AttributeFilterInput;
      nextToken?: string;
    },
    options?: CallOptions,
  ): Promise<SearchResult>;
  chatSync(input: ChatRequest, options?: CallOptions): Promise<ChatAnswer>;
  /** The streaming Chat API; `onText` receives the answer so far each time it grows. */
  chatStream(
    input: ChatRequest,
    options: CallOptions & { onText(answerSoFar: string): void },
  ): Promise<ChatAnswer>;
  listConversations(
    input: { maxResults?: number; nextToken?: string },
    options?: CallOptions,
  ): Promise<{ conversations: ConversationSummary[]; nextToken?: string }>;
  listMessages(
    input: { conversationId: string; maxResults?: number; nextToken?: string },
    options?: CallOptions,
  ): Promise<{ messages: ConversationMessage[]; nextToken?: string }>;
  deleteConversation(input: { conversationId: string }, options?: CallOptions): Promise<void>;
  putFeedback(
    input: {
      conversationId: string;
      messageId: string;
      usefulness: 'USEFUL' | 'NOT_USEFUL';
      reason?: string;
      comment?: string;
    },
    options?: CallOptions,
  ): Promise<void>;
  getDocument(input: DocumentRequest, options?: CallOptions): Promise<DocumentText>;
  /**
   * Gets the credentials ahead of the first call (sign-in refresh and identity exchange, memoized, so a
   * call meanwhile waits on the same exchange); a failure is left for that call to meet and report.
   */
  prepare?(): Promise<void>;
  /** Closes the SDK client's connections (HTTP/2 sessions). */
  destroy(): void;
}

export interface QClientDeps {
  /** src/identity's memoized provider (its `invalidate` renews refused credentials), or a bare source. */
  credentials: MemoizedCredentials | CredentialSource;
  logger: Logger;
  /** Backoff base for retries, in ms (default 200). */
  retryBaseDelayMs?: number;
  /**
   * A connection pool shared by many clients (the HTTP transport's users, see createQTransport); its
   * owner destroys it. Without one, the client keeps one HTTP/2 session of its own.
   */
  requestHandler?: NodeHttp2Handler;
  /** Recently read documents' text (default: the process's one, bounded; see document-cache.ts). */
  documentCache?: DocumentCache;
}

/** Internals shared by chat.ts and document.ts. */
export interface QCore {
  /** Sends as this client's user (with a shared pool, the SDK client is everyone's). */
  sdk: Pick<QBusinessClient, 'send'>;
  applicationId: string;
  indexId: string | undefined;
  retry<T>(operation: string, attempt: (a: Attempt) => Promise<T>, options?: RetryOptions): Promise<T>;
  logger: Logger;
  /** Whom the credentials act for, when the provider says (keys the document cache). */
  identity(): ActingIdentity | undefined;
  documents: DocumentCache;
}

export function createQClient(config: QindexConfig, deps: QClientDeps): QClient {
  // With a shared pool, one SDK client for all users, each call signed with its user's credentials;
  // without, a client of its own. The qbusiness client's default opens a new HTTP/2 connection (TCP +
  // TLS) for every call; one shared session with concurrent streams keeps a tool call close to the
  // cost of the Q call itself, Chat's event streams included (see SharedSessionHandler).
  const own = deps.requestHandler
    ? undefined
    : buildSdk(config, {
        credentials: deps.credentials,
        requestHandler: new SharedSessionHandler({ disableConcurrentStreams: false }),
        logger: sdkLogger(deps.logger),
      });
  const owner: CallOwner = { credentials: deps.credentials, logger: deps.logger };
  const shared = deps.requestHandler && sharedSdk(config, deps.requestHandler);
  const sdk: Pick<QBusinessClient, 'send'> = own ?? {
    send: ((...args: Parameters<QBusinessClient['send']>) =>
      callOwner.run(owner, () => shared!.send(...args))) as QBusinessClient['send'],
  };
  const retryDeps: RetryDeps = {
    logger: deps.logger,
    baseDelayMs: deps.retryBaseDelayMs,
    timeoutMs: config.q.timeoutSeconds * 1000,
    currentCredentials: () => deps.credentials(),
    // The provider is its own (and the SDK's only) cache: dropping the refused credentials there is
    // enough; the retried request then waits on the one renewal however many calls saw them expire.
    renewCredentials: async (refused) => {
      const credentials = deps.credentials;
      if ('invalidate' in credentials) credentials.invalidate(refused);
      else await credentials({ forceRefresh: true });
    },
  };
  const applicationId = config.q.applicationId;
  const core: QCore = {
    sdk,
    applicationId,
    indexId: config.q.indexId,
    logger: deps.logger,
    identity: () => (deps.credentials as Partial<CredentialProvider>).identity?.(),
    documents: deps.documentCache ?? documentCache,
    // A configured id Q does not know is the configuration's fault, whichever call met it.
    retry: (operation, attempt, options) =>
      withRetries(retryDeps, operation, attempt, options).catch((e: unknown) => {
        throw configuredResourceMissing(e, operation, config) ?? e;
      }),
  };
  const send = <T>(
    operation: string,
    options: CallOptions | undefined,
    run: (signal: AbortSignal) => Promise<T>,
  ) => core.retry(operation, (a) => run(a.signal), { signal: options?.signal });
  const abort = (signal: AbortSignal) => ({ abortSignal: signal });

  return {
    applicationId,
    retrieverId: config.q.retrieverId,
    indexId: config.q.indexId,
    region: config.q.region,

    async search(input, options) {
      const out = await send('SearchRelevantContent', options, (signal) =>
        sdk.send(
          new SearchRelevantContentCommand({
            applicationId,
            queryText: input.queryText,
            contentSource: { retriever: { retrieverId: config.q.retrieverId } },
            attributeFilter: input.attributeFilter ? toSdkFilter(input.attributeFilter) : undefined,
            maxResults: input.maxResults,
            nextToken: input.nextToken,
          }),
          abort(signal),
        ),
      );
      return {
        passages: (out.relevantContent ?? []).map(toPassage),
        ...(out.nextToken ? { nextToken: out.nextToken } : {}),
      };
    },

    chatSync: (input, options) => chatSync(core, input, options),
    chatStream: (input, options) => chatStream(core, input, options),

    async listConversations(input, options) {
      const out = await send('ListConversations', options, (signal) =>
        sdk.send(new ListConversationsCommand({ applicationId, ...input }), abort(signal)),
      );
      const conversations = (out.conversations ?? []).map((c) => ({
        conversationId: c.conversationId ?? '',
        ...(c.title ? { title: c.title } : {}),
        ...(c.startTime ? { startTime: c.startTime.toISOString() } : {}),
      }));
      return { conversations, ...(out.nextToken ? { nextToken: out.nextToken } : {}) };
    },

    async listMessages(input, options) {
      const out = await send('ListMessages', options, (signal) =>
        sdk.send(new ListMessagesCommand({ applicationId, ...input }), abort(signal)),
      );
      return {
        messages: (out.messages ?? []).map(toMessage),
        ...(out.nextToken ? { nextToken: out.nextToken } : {}),
      };
    },

    async deleteConversation(input, options) {
      await send('DeleteConversation', options, (signal) =>
        sdk.send(
          new DeleteConversationCommand({ applicationId, conversationId: input.conversationId }),
          abort(signal),
        ),
      );
    },

    async putFeedback(input, options) {
      await send('PutFeedback', options, (signal) =>
        sdk.send(
          new PutFeedbackCommand({
            applicationId,
            conversationId: input.conversationId,
            messageId: input.messageId,
            messageUsefulness: {
              usefulness: input.usefulness,
              reason: input.reason as never,
              comment: input.comment,
              submittedAt: new Date(),
            },
          }),
          abort(signal),
        ),
      );
    },

    getDocument: (input, options) => getDocumentText(core, input, options),
    prepare: async () => {
      await deps.credentials();
    },
    // A shared pool outlives this client: its owner destroys it.
    destroy: () => own?.destroy(),
  };
}
