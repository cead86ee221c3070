/**
 * @module MCP sessions of the stateful HTTP mode, each bound to the user who opened it: a request with
 * another user's token and that session id is answered as if the session did not exist (404).
 * Idle sessions are closed; the number of open sessions is bounded.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface Session {
  id: string;
  /** Cache key of the user who opened it (issuer, subject, tenant); 'local' in one-user mode. */
  owner: string;
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

export interface SessionStore {
  add(session: Session): void;
  /** The session when it exists and belongs to `owner`; undefined otherwise (the caller answers 404). */
  get(id: string, owner: string): Session | undefined;
  remove(id: string): void;
  /** True when a new session may open (after closing idle ones). */
  hasRoom(): boolean;
  readonly size: number;
  closeAll(): Promise<void>;
}

export function createSessionStore(options: { max: number; idleMs: number }): SessionStore {
  const sessions = new Map<string, Session>();

  const close = async (s: Session) => {
    sessions.delete(s.id);
    await s.transport.close().catch(() => undefined);
    await s.server.close().catch(() => undefined);
  };
  const closeIdle = () => {
    const cutoff = Date.now() - options.idleMs;
    for (const s of sessions.values()) if (s.lastSeen < cutoff) void close(s);
  };
  const timer = setInterval(closeIdle, Math.min(options.idleMs, 60_000));
  timer.unref();

  return {
    add(session) {
      sessions.set(session.id, session);
    },
    get(id, owner) {
      const s = sessions.get(id);
      if (!s || s.owner !== owner) return undefined;
      s.lastSeen = Date.now();
      return s;
    },
    remove(id) {
      sessions.delete(id);
    },
    hasRoom() {
      if (sessions.size < options.max) return true;
      closeIdle();
      return sessions.size < options.max;
    },
    get size() {
      return sessions.size;
    },
    async closeAll() {
      clearInterval(timer);
      await Promise.all([...sessions.values()].map(close));
    },
  };
}
