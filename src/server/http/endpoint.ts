/**
 * @module The MCP endpoint proper, after authentication and limits: stateful sessions (each bound to its
 * owner; another owner's request for it gets 404) or stateless serving (a fresh server and transport per
 * request, for replicas behind a load balancer). Also the small JSON answers the HTTP layer sends itself.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ToolContext } from '../../tools/context.js';
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
      res.setHeader('allow', 'POST');
      return json(res, 405, rpcError(-32000, 'Method not allowed: this server is stateless.'));
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
      if (!session) return json(res, 404, rpcError(-32001, 'Session not found'));
      return session.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return json(res, 400, rpcError(-32000, 'Bad Request: no valid session id; initialize first.'));
    }
    if (!sessions.hasRoom()) {
      res.setHeader('retry-after', '5');
      return json(res, 503, rpcError(-32000, 'Too many open sessions; try again later.'));
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

export const rpcError = (code: number, message: string) => ({
  jsonrpc: '2.0',
  error: { code, message },
  id: null,
});

export function json(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
