/**
 * @module The MCP endpoint proper, after the request stages, for both protocol eras on one URL.
 * A 2026-07-28 request (the `_meta` envelope, the MCP-Protocol-Version header) is served on its own by
 * a fresh server: no sessions, so every request was authorized by the stages and any replica can
 * answer it. A 2025 request (`initialize`, a session id, no envelope) meets the configured mode:
 * stateful sessions (each bound to its owner; another owner's request for it gets 404) or stateless
 * serving (a fresh server and transport per request, for replicas behind a load balancer). The
 * stateful/stateless switch therefore matters only for 2025 clients. Refusals are thrown as
 * HttpErrors, answered at the edge.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  createMcpHandler,
  isLegacyRequest,
  type AuthInfo,
  type McpServer,
} from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport, toNodeHandler } from '@modelcontextprotocol/node';
import type { Logger } from '../../log.js';
import type { ToolContext } from '../../tools/context.js';
import type { ProtocolEra } from '../mcp.js';
import { HttpError, RPC } from './http-error.js';
import { isInitialize, requestIds } from './jsonrpc.js';
import type { Session, SessionStore } from './sessions.js';

export type McpEndpoint = (
  req: IncomingMessage,
  res: ServerResponse,
  owner: string,
  ctx: ToolContext,
  body: unknown,
) => Promise<void>;

export interface McpEndpointHandle {
  serve: McpEndpoint;
  /** Ends the 2026-era exchanges still open (2025 sessions close through the session store). */
  close(): Promise<void>;
}

/** Builds the MCP server for one session or request, for the era it serves. */
export type CreateServer = (ctx: ToolContext, options: { era: ProtocolEra }) => McpServer;

/** What the stages found out, handed to the 2026 leg's per-request server (the SDK's authInfo slot). */
interface Caller {
  ctx: ToolContext;
}

export function createMcpEndpoint(options: {
  stateless: boolean;
  sessions: SessionStore;
  createServer: CreateServer;
  logger: Logger;
}): McpEndpointHandle {
  const { sessions, createServer, logger } = options;

  const handler = createMcpHandler(
    ({ era, authInfo }) => createServer((authInfo?.extra as unknown as Caller).ctx, { era }),
    {
      // 2025 traffic never reaches it: it is routed below, to the mode's own serving.
      legacy: 'reject',
      onerror: (e) => logger.info({ err: e.message }, 'MCP request refused or failed'),
    },
  );
  const modern = toNodeHandler(handler);

  const serveModern: McpEndpoint = (req, res, owner, ctx, body) => {
    // The stages' verdict, not a token: the SDK passes it through to the factory as it is.
    const caller: AuthInfo = { token: '', clientId: owner, scopes: [], extra: { ctx } };
    (req as IncomingMessage & { auth?: AuthInfo }).auth = caller;
    return modern(req, res, body);
  };

  const stateless: McpEndpoint = async (req, res, _owner, ctx, body) => {
    if (req.method !== 'POST') {
      throw new HttpError(405, 'Method not allowed: this server is stateless.', {
        headers: { allow: 'POST' },
      });
    }
    const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const mcp = createServer(ctx, { era: 'legacy' });
    res.once('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const stateful: McpEndpoint = async (req, res, owner, ctx, body) => {
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = sessions.get(id, owner);
      if (!session) throw new HttpError(404, 'Session not found', { rpcCode: RPC.sessionNotFound });
      holdIds(session, res, body);
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      throw new HttpError(400, 'Bad Request: no valid session id; initialize first.');
    }
    if (!sessions.hasRoom()) {
      throw new HttpError(503, 'Too many open sessions; try again later.', {
        headers: { 'retry-after': '5' },
      });
    }
    const mcp = createServer(ctx, { era: 'legacy' });
    let session: Session | undefined;
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        session = { id: sid, owner, transport, server: mcp, lastSeen: Date.now(), pending: new Set() };
        sessions.add(session);
      },
    });
    transport.onclose = () => {
      if (session) sessions.remove(session.id);
    };
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const legacy = options.stateless ? stateless : stateful;
  return {
    serve: async (req, res, owner, ctx, body) =>
      (await isModern(req, body))
        ? serveModern(req, res, owner, ctx, body)
        : legacy(req, res, owner, ctx, body),
    close: () => handler.close(),
  };
}

/**
 * Marks the body's request ids pending in the session until the response ends, refusing (400) an id a
 * pending request of the session already uses: the transport keys answers by id, so the earlier
 * request's answer would be lost.
 */
function holdIds(session: Session, res: ServerResponse, body: unknown): void {
  const ids = requestIds(body).map((id) => JSON.stringify(id));
  const taken = ids.find((id, i) => session.pending.has(id) || ids.indexOf(id) !== i);
  if (taken !== undefined) {
    throw new HttpError(
      400,
      `Invalid request: id ${taken} is already used by a pending request of this session; give each request its own id.`,
      { rpcCode: RPC.invalidRequest },
    );
  }
  for (const id of ids) session.pending.add(id);
  res.once('close', () => {
    for (const id of ids) session.pending.delete(id);
  });
}

/**
 * Whether the SDK's own classifier sends this POST to the 2026-07-28 leg: any envelope claim or
 * 2026 version header, including wrong ones (that leg answers them with the spec's errors).
 */
async function isModern(req: IncomingMessage, body: unknown): Promise<boolean> {
  if (req.method !== 'POST' || body === undefined) return false;
  return !(await isLegacyRequest(headersOnly(req), body));
}

/** The request's head as a web Request: the classifier reads the headers, and the body as parsed. */
function headersOnly(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
      headers.append(name, v);
  }
  return new Request('http://localhost/', { method: 'POST', headers });
}
