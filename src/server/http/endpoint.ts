/**
 * @module The MCP endpoint proper, after the request stages: stateful sessions (each bound to its owner;
 * another owner's request for it gets 404) or stateless serving (a fresh server and transport per
 * request, for replicas behind a load balancer). Refusals are thrown as HttpErrors, answered at the edge.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ToolContext } from '../../tools/context.js';
import { HttpError, RPC } from './http-error.js';
import { isInitialize } from './jsonrpc.js';
import type { Session, SessionStore } from './sessions.js';

export type McpEndpoint = (
  req: IncomingMessage,
  res: ServerResponse,
  owner: string,
  ctx: ToolContext,
  body: unknown,
) => Promise<void>;

export function createMcpEndpoint(options: {
  stateless: boolean;
  sessions: SessionStore;
  createServer: (ctx: ToolContext) => McpServer;
}): McpEndpoint {
  const { sessions, createServer } = options;

  const stateless: McpEndpoint = async (req, res, _owner, ctx, body) => {
    if (req.method !== 'POST') {
      throw new HttpError(405, 'Method not allowed: this server is stateless.', {
        headers: { allow: 'POST' },
      });
    }
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    const mcp = createServer(ctx);
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
    const mcp = createServer(ctx);
    let session: Session | undefined;
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (sid) => {
        session = { id: sid, owner, transport, server: mcp, lastSeen: Date.now() };
        sessions.add(session);
      },
    });
    transport.onclose = () => {
      if (session) sessions.remove(session.id);
    };
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  return options.stateless ? stateless : stateful;
}
