/**
 * @module Unit tests of the session store: a session is found only by its owner, a user at their cap
 * loses their least recently used session, the overall cap makes room by closing idle sessions only.
 * Sessions hold real (unconnected) transports and servers; closing one is seen through onclose.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import { McpServer } from '@modelcontextprotocol/server';
import { createSessionStore, type Session, type SessionStore } from './sessions.js';

const IDLE_MS = 60_000;
const closed = new Set<string>();
const stores: SessionStore[] = [];

function store(max = 10, maxPerOwner = 3): SessionStore {
  const s = createSessionStore({ max, maxPerOwner, idleMs: IDLE_MS });
  stores.push(s);
  return s;
}

/** A session last seen `ago` ms before now (lastSeen is what eviction compares). */
function session(id: string, owner: string, ago = 0): Session {
  const transport = new NodeStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  transport.onclose = () => closed.add(id);
  return {
    id,
    owner,
    transport,
    server: new McpServer({ name: 'test', version: '0' }),
    lastSeen: Date.now() - ago,
    pending: new Set(),
  };
}

afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.closeAll()));
  closed.clear();
});

describe('session store', () => {
  it('answers a session to its owner only', () => {
    const sessions = store();
    const a = session('s-a', 'alice');
    sessions.add(a);
    expect(sessions.get('s-a', 'alice')).toBe(a);
    expect(sessions.get('s-a', 'bob')).toBeUndefined();
    expect(sessions.get('s-unknown', 'alice')).toBeUndefined();
    expect(sessions.size).toBe(1);
  });

  it("refreshes lastSeen on the owner's lookup, not on another user's", () => {
    const sessions = store();
    const a = session('s-a', 'alice', 5_000);
    const before = a.lastSeen;
    sessions.add(a);
    sessions.get('s-a', 'bob');
    expect(a.lastSeen).toBe(before);
    sessions.get('s-a', 'alice');
    expect(a.lastSeen).toBeGreaterThan(before);
  });

  it("closes a user's least recently used session when they open one past their cap", () => {
    const sessions = store(10, 2);
    sessions.add(session('a1', 'alice', 3_000));
    sessions.add(session('a2', 'alice', 2_000));
    sessions.add(session('b1', 'bob', 9_000));
    sessions.add(session('a3', 'alice'));
    expect(sessions.get('a1', 'alice')).toBeUndefined();
    expect(closed).toEqual(new Set(['a1']));
    expect(sessions.get('a2', 'alice')).toBeDefined();
    expect(sessions.get('a3', 'alice')).toBeDefined();
    // Bob's older session is not Alice's to lose.
    expect(sessions.get('b1', 'bob')).toBeDefined();
    expect(sessions.size).toBe(3);
  });

  it('counts a lookup as use: the session not looked up recently is the one evicted', () => {
    const sessions = store(10, 2);
    sessions.add(session('a1', 'alice', 3_000));
    sessions.add(session('a2', 'alice', 2_000));
    sessions.get('a1', 'alice');
    sessions.add(session('a3', 'alice'));
    expect(closed).toEqual(new Set(['a2']));
    expect(sessions.get('a1', 'alice')).toBeDefined();
  });

  it('keeps one session per user at a cap of one', () => {
    const sessions = store(10, 1);
    sessions.add(session('a1', 'alice', 1_000));
    sessions.add(session('a2', 'alice'));
    expect(sessions.size).toBe(1);
    expect(sessions.get('a2', 'alice')).toBeDefined();
    expect(closed).toEqual(new Set(['a1']));
  });

  it('has no room at the overall cap while every session is active', () => {
    const sessions = store(2, 2);
    expect(sessions.hasRoom()).toBe(true);
    sessions.add(session('a1', 'alice'));
    expect(sessions.hasRoom()).toBe(true);
    sessions.add(session('b1', 'bob'));
    expect(sessions.hasRoom()).toBe(false);
    expect(closed.size).toBe(0);
  });

  it('makes room at the overall cap by closing idle sessions, and only those', () => {
    const sessions = store(2, 2);
    sessions.add(session('idle', 'alice', IDLE_MS + 10_000));
    sessions.add(session('active', 'bob'));
    expect(sessions.hasRoom()).toBe(true);
    expect(closed).toEqual(new Set(['idle']));
    expect(sessions.get('idle', 'alice')).toBeUndefined();
    expect(sessions.get('active', 'bob')).toBeDefined();
  });

  it('forgets a removed session without closing it (its transport is what reported the close)', () => {
    const sessions = store();
    sessions.add(session('a1', 'alice'));
    sessions.remove('a1');
    sessions.remove('a1');
    expect(sessions.get('a1', 'alice')).toBeUndefined();
    expect(sessions.size).toBe(0);
    expect(closed.size).toBe(0);
  });

  it("frees a removed session from its owner's cap", () => {
    const sessions = store(10, 1);
    sessions.add(session('a1', 'alice', 1_000));
    sessions.remove('a1');
    sessions.add(session('a2', 'alice'));
    expect(closed.size).toBe(0);
    expect(sessions.size).toBe(1);
  });

  it('closes every session on closeAll', async () => {
    const sessions = store();
    sessions.add(session('a1', 'alice'));
    sessions.add(session('b1', 'bob'));
    await sessions.closeAll();
    expect(sessions.size).toBe(0);
    expect(closed).toEqual(new Set(['a1', 'b1']));
  });
});
