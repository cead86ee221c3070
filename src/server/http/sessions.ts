/**
 * @module MCP sessions of the stateful HTTP mode (2025-era clients only: 2026-07-28 has none), each bound to the user who opened it: a request with
 * another user's token and that session id is answered as if the session did not exist (404).
 * Idle sessions are closed; the number of open sessions is bounded, overall and per user (a user at
 * their cap who opens another loses their least recently used one), so no user can fill the store and
 * lock every other user or tenant out.
 */
import type { McpServer } from '@modelcontextprotocol/server';
import type { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';

export interface Session {
  id: string;
  /** Cache key of the user who opened it (issuer, subject, tenant); 'local' in one-user mode. */
  owner: string;
  transport: NodeStreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
  /** Ids of the session's requests still being answered (JSON text: 1 and "1" are distinct ids). */
  pending: Set<string>;
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

export function createSessionStore(options: {
  max: number;
  maxPerOwner: number;
  idleMs: number;
}): SessionStore {
  const sessions = new Map<string, Session>();
  const byOwner = new Map<string, Set<Session>>();

  const forget = (s: Session) => {
    sessions.delete(s.id);
    const owned = byOwner.get(s.owner);
    owned?.delete(s);
    if (owned?.size === 0) byOwner.delete(s.owner);
  };
  const close = async (s: Session) => {
    forget(s);
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
      const owned = byOwner.get(session.owner) ?? new Set<Session>();
      while (owned.size >= options.maxPerOwner) {
        const oldest = [...owned].reduce((a, b) => (b.lastSeen < a.lastSeen ? b : a));
        void close(oldest);
      }
      owned.add(session);
      byOwner.set(session.owner, owned);
      sessions.set(session.id, session);
    },
    get(id, owner) {
      const s = sessions.get(id);
      if (!s || s.owner !== owner) return undefined;
      s.lastSeen = Date.now();
      return s;
    },
    remove(id) {
      const s = sessions.get(id);
      if (s) forget(s);
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
