/**
 * @module The Q Business data plane of the AWS emulator: routes restJson1 requests (paths as in the
 * SDK model) to operations, after counting the call, applying armed faults and authorizing the caller.
 */
import { countCall, takeFault, type SandboxState } from '../../state.js';
import type { World } from '../../world.js';
import type { Caller, EmulatorRequest, EmulatorResponse, ServiceHandler, SigningScope } from '../types.js';
import { authorize, type Access } from './access.js';
import { chatStream, chatSync, subscriptionQuirk } from './chat.js';
import { deleteConversation, listConversations, listMessages, putFeedback } from './conversations.js';
import { DOWNLOAD_PREFIX, downloadDocument, getDocumentContent } from './documents.js';
import { createEngine, type Engine } from './engine.js';
import { QError, errorResponse, internalError, throttled, validationError } from './errors.js';
import { searchRelevantContent } from './search.js';
import { requireId } from './validate.js';

export interface QBusinessService {
  /** Signed requests whose credential scope names `qbusiness`. */
  handler: ServiceHandler;
  /** Unsigned routes by path prefix (presigned document downloads). */
  unsignedRoutes: Record<string, ServiceHandler>;
}

interface Route {
  operation: string;
  applicationId: string;
  params: string[];
}

/** One URI label, decoded after the path was split (the SDK escapes `/` inside a label as `%2F`). */
function decodeLabel(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Matches method and path against the operations' HTTP bindings. */
function match(req: EmulatorRequest): Route | undefined {
  const parts = req.rawPath.split('/').slice(1).map(decodeLabel);
  if (parts[0] !== 'applications' || !parts[1]) return undefined;
  const [, applicationId, a, b, c, d, e] = parts;
  const m = req.method;
  const r = (operation: string, ...params: string[]) => ({ operation, applicationId, params });
  if (m === 'POST' && a === 'relevant-content' && parts.length === 3) return r('SearchRelevantContent');
  if (a === 'conversations') {
    if (parts.length === 3) {
      if (m === 'GET') return r('ListConversations');
      if (m === 'POST') return req.query.has('sync') ? r('ChatSync') : r('Chat');
    }
    if (parts.length === 4 && b) {
      if (m === 'GET') return r('ListMessages', b);
      if (m === 'DELETE') return r('DeleteConversation', b);
    }
    if (m === 'POST' && parts.length === 7 && b && c === 'messages' && d && e === 'feedback') {
      return r('PutFeedback', b, d);
    }
  }
  if (m === 'GET' && a === 'index' && b && c === 'documents' && d && e === 'content' && parts.length === 7) {
    return r('GetDocumentContent', b, d);
  }
  return undefined;
}

async function dispatch(
  engine: Engine,
  state: SandboxState,
  world: World,
  req: EmulatorRequest,
  caller: Caller,
  scope: SigningScope | undefined,
): Promise<EmulatorResponse> {
  const route = match(req);
  if (!route) {
    throw new QError(
      404,
      'UnknownOperationException',
      `The sandbox has no Q Business operation ${req.method} ${req.path}.`,
    );
  }
  const op = `qbusiness:${route.operation}`;
  countCall(state, op);
  const fault = await takeFault(state, op);
  if (fault?.kind === 'throttle') throw throttled();
  if (fault?.kind === 'serverError') throw internalError();
  if (fault?.kind === 'error') throw new QError(fault.status, fault.code, fault.message);

  requireId('applicationId', route.applicationId);
  const access: Access = authorize(world, caller, scope, route.operation, route.applicationId);
  const [p0, p1] = route.params as [string, string];
  switch (route.operation) {
    case 'SearchRelevantContent':
      return searchRelevantContent(engine, state, access, req);
    case 'ChatSync':
      subscriptionQuirk(state, access);
      return chatSync(engine, state, access, req);
    case 'Chat':
      if (!scope) throw validationError('Chat must be signed.');
      return chatStream(engine, state, access, req, caller, scope);
    case 'ListConversations':
      return listConversations(state, access, req);
    case 'ListMessages':
      return listMessages(state, access, req, requireId('conversationId', p0));
    case 'DeleteConversation':
      return deleteConversation(state, access, requireId('conversationId', p0));
    case 'PutFeedback':
      return putFeedback(state, access, req, requireId('conversationId', p0), requireId('messageId', p1));
    default:
      return getDocumentContent(engine, state, access, req, p0, p1);
  }
}

/**
 * Counts each user's Q calls in flight (from arrival until the response, or a stream, ends or the client
 * goes away) as counters `qbusiness:inFlight:<email>` and the highest so far, `qbusiness:peakInFlight:<email>`:
 * tests assert on a client's upstream concurrency per user without timing anything.
 */
function gaugeInFlight(state: SandboxState, fn: ServiceHandler): ServiceHandler {
  const current = new Map<string, number>();
  return async (req, caller, scope) => {
    const who = caller.kind === 'session' ? caller.session.identity?.email : undefined;
    if (!who) return fn(req, caller, scope);
    const set = (n: number) => {
      current.set(who, n);
      state.counters.set(`qbusiness:inFlight:${who}`, n);
      const peak = `qbusiness:peakInFlight:${who}`;
      state.counters.set(peak, Math.max(n, state.counters.get(peak) ?? 0));
    };
    set((current.get(who) ?? 0) + 1);
    let left = false;
    const leave = () => {
      if (left) return;
      left = true;
      set((current.get(who) ?? 1) - 1);
    };
    req.signal.addEventListener('abort', leave, { once: true });
    try {
      const res = await fn(req, caller, scope);
      const body = res.body;
      if (!body || typeof body === 'string' || Buffer.isBuffer(body)) return (leave(), res);
      return {
        ...res,
        body: (async function* () {
          try {
            yield* body;
          } finally {
            leave();
          }
        })(),
      };
    } catch (err) {
      leave();
      throw err;
    }
  };
}

export function createQBusinessService(world: World, state: SandboxState): QBusinessService {
  const engine = createEngine(world);
  const guard =
    (fn: ServiceHandler): ServiceHandler =>
    async (req, caller, scope) => {
      try {
        return await fn(req, caller, scope);
      } catch (err) {
        if (err instanceof QError) return errorResponse(err);
        throw err;
      }
    };
  return {
    handler: gaugeInFlight(
      state,
      guard((req, caller, scope) => dispatch(engine, state, world, req, caller, scope)),
    ),
    unsignedRoutes: {
      [DOWNLOAD_PREFIX]: guard(async (req) => downloadDocument(world, engine, state, req)),
    },
  };
}
