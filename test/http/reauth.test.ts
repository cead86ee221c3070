/**
 * Bearer mode when credentials and tokens change under a user: credentials that expire early answer the
 * very first call with 401 invalid_token (the presented token cannot be exchanged twice), `whoami` names
 * the identity the credentials were exchanged for (also when another replica exchanged them), and the
 * Authorization header is read as RFC 6750 and RFC 9110 say (any case, one or more spaces).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { bearerConfig, initializeBody, post, startBearerServer } from './harness.js';
import { startRedis, type RedisServer } from './redis.js';
import { signedToken } from './tokens.js';
import { MODERN, envelope } from '../helpers/eras.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const token = (username: string) =>
  control().mintAccessToken({ username, clientId: sandbox().description.clients.isv });
const servers: HttpServerHandle[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await control().reset();
});
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

async function start(http: Record<string, unknown> = {}): Promise<HttpServerHandle> {
  const server = await startBearerServer(sandbox(), bearerConfig(sandbox(), 'data-accessor', { http }));
  servers.push(server);
  return server;
}

let nextId = 1;
const call = (name: string, args: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: nextId++,
  method: 'tools/call',
  params: { name, arguments: args },
});
const auth = (t: string) => ({ authorization: `Bearer ${t}`, 'mcp-protocol-version': '2025-06-18' });

interface ToolAnswer {
  status: number;
  challenge: string | null;
  isError?: boolean;
  text?: string;
  structured?: Record<string, unknown>;
}

/** A 2026-07-28 request's headers and `_meta`: no session, the version in every request. */
const modern = (t: string, name: string) => ({
  authorization: `Bearer ${t}`,
  'mcp-protocol-version': MODERN,
  'mcp-method': 'tools/call',
  'mcp-name': name,
});

/** One tools/call over a raw POST: the HTTP status, and the tool result when there is one. */
async function tool(
  url: string,
  headers: Record<string, string>,
  name: string,
  args: Record<string, unknown> = {},
): Promise<ToolAnswer> {
  const body = call(name, args);
  const isModern = headers['mcp-protocol-version'] === MODERN;
  const res = await post(
    url,
    isModern ? { ...body, params: { ...body.params, _meta: envelope() } } : body,
    headers,
  );
  const text = await res.text();
  const answer: ToolAnswer = { status: res.status, challenge: res.headers.get('www-authenticate') };
  if (res.status !== 200) return answer;
  const data = text.split('\n').find((l) => l.startsWith('data: '));
  const message = JSON.parse(data ? data.slice(6) : text) as {
    result: {
      isError?: boolean;
      content: Array<{ text: string }>;
      structuredContent?: Record<string, unknown>;
    };
  };
  return {
    ...answer,
    isError: message.result.isError === true,
    text: message.result.content.map((c) => c.text).join('\n'),
    ...(message.result.structuredContent ? { structured: message.result.structuredContent } : {}),
  };
}

const titlesOf = (a: ToolAnswer) =>
  ((a.structured?.passages as Array<{ title: string }> | undefined) ?? []).map((p) => p.title);
const emailOf = (a: ToolAnswer) => (a.structured?.user as { email?: string } | undefined)?.email;
const RUNBOOK = 'Runbook: payments-api';
const INVALID_TOKEN =
  /^Bearer error="invalid_token", error_description="[^"]*fresh token[^"]*", resource_metadata="/;

describe('HTTP bearer mode, credentials that expire early', () => {
  it('answers the first call after an early expiry with 401 invalid_token, as every later one (stateless)', async () => {
    const server = await start({ stateless: true });
    const t = await token('alice');
    const first = await tool(server.url, auth(t), 'search_relevant_content', {
      query: 'payments-api runbook',
    });
    expect(first.isError, first.text).toBe(false);

    await control().expireSessions();
    const again = await tool(server.url, auth(t), 'search_relevant_content', { query: 'vpn' });
    expect(again.status, again.text).toBe(401);
    expect(again.challenge).toMatch(INVALID_TOKEN);
    expect((await tool(server.url, auth(t), 'search_relevant_content', { query: 'vpn' })).status).toBe(401);

    const fresh = await tool(server.url, auth(await token('alice')), 'search_relevant_content', {
      query: 'payments-api runbook',
    });
    expect(fresh.isError, fresh.text).toBe(false);
    expect(titlesOf(fresh)).toContain(RUNBOOK);
  });

  it('does the same for 2026-07-28 requests, which have no session, on a stateful server', async () => {
    const server = await start();
    const t = await token('alice');
    const search = (bearer: string, query: string) =>
      tool(server.url, modern(bearer, 'search_relevant_content'), 'search_relevant_content', { query });
    const first = await search(t, 'payments-api runbook');
    expect(first.isError, first.text).toBe(false);

    await control().expireSessions();
    const again = await search(t, 'vpn');
    expect(again.status, again.text).toBe(401);
    expect(again.challenge).toMatch(INVALID_TOKEN);

    const fresh = await search(await token('alice'), 'payments-api runbook');
    expect(fresh.isError, fresh.text).toBe(false);
    expect(titlesOf(fresh)).toContain(RUNBOOK);
  });

  it('does the same inside a session, which then goes on with a fresh token', async () => {
    const server = await start();
    const t = await token('alice');
    const init = await post(server.url, initializeBody, { authorization: `Bearer ${t}` });
    const sid = { 'mcp-session-id': init.headers.get('mcp-session-id')! };
    await init.text();
    await post(server.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, { ...auth(t), ...sid });
    expect(
      (await tool(server.url, { ...auth(t), ...sid }, 'search_relevant_content', { query: 'vpn' })).isError,
    ).toBe(false);

    await control().expireSessions();
    const again = await tool(server.url, { ...auth(t), ...sid }, 'search_relevant_content', { query: 'vpn' });
    expect(again.status, again.text).toBe(401);
    expect(again.challenge).toMatch(INVALID_TOKEN);

    const fresh = await tool(
      server.url,
      { ...auth(await token('alice')), ...sid },
      'search_relevant_content',
      {
        query: 'payments-api runbook',
      },
    );
    expect(fresh.isError, fresh.text).toBe(false);
    expect(titlesOf(fresh)).toContain(RUNBOOK);
  });
});

describe('HTTP bearer mode, whoami', () => {
  it('names the identity the credentials were exchanged for, not the email of a later token', async () => {
    const server = await start({ stateless: true });
    const first = await signedToken(sandbox(), { username: 'alice', ttlSeconds: 600 });
    // The same subject, later, with another email: IdC would map that email to another user.
    const later = await signedToken(sandbox(), {
      username: 'alice',
      ttlSeconds: 900,
      claims: { email: 'bob@example.com' },
    });
    const who = await tool(server.url, auth(first), 'whoami');
    expect(emailOf(who)).toBe('alice@example.com');

    const whoLater = await tool(server.url, auth(later), 'whoami');
    expect(emailOf(whoLater), whoLater.text).toBe('alice@example.com');
    expect(whoLater.text).toContain('alice@example.com');
    // What the tools see agrees: still alice's credentials.
    const search = await tool(server.url, auth(later), 'search_relevant_content', {
      query: 'payments-api runbook',
    });
    expect(titlesOf(search)).toContain(RUNBOOK);

    // Renewed with the later token, the credentials are bob's, and whoami says so.
    await control().expireSessions();
    const renewed = await tool(server.url, auth(later), 'search_relevant_content', {
      query: 'payments-api runbook',
    });
    expect(renewed.isError, renewed.text).toBe(false);
    expect(titlesOf(renewed)).not.toContain(RUNBOOK);
    expect(emailOf(await tool(server.url, auth(later), 'whoami'))).toBe('bob@example.com');
  });

  it('names that identity on a replica that read the credentials from the shared cache', async () => {
    const shared = { stateless: true, redisUrl: redis.url, cacheKey: randomBytes(32).toString('base64') };
    const [a, b] = [await start(shared), await start(shared)];
    const first = await signedToken(sandbox(), { username: 'alice', ttlSeconds: 600 });
    const later = await signedToken(sandbox(), {
      username: 'alice',
      ttlSeconds: 900,
      claims: { email: 'bob@example.com' },
    });
    expect(emailOf(await tool(a.url, auth(first), 'whoami'))).toBe('alice@example.com');
    const onB = await tool(b.url, auth(later), 'whoami');
    expect(emailOf(onB), onB.text).toBe('alice@example.com');
    expect((await control().counters())['sso-oauth:CreateTokenWithIAM']).toBe(1);
  });
});

describe('HTTP bearer mode, the Authorization header', () => {
  it('takes the scheme in any case and one or more spaces before the token', async () => {
    const server = await start({ stateless: true });
    const t = await token('alice');
    for (const header of [
      `Bearer ${t}`,
      `Bearer  ${t}`,
      `Bearer   ${t}`,
      `bearer ${t}`,
      `BEARER ${t}`,
      `bEaReR  ${t}`,
    ]) {
      const res = await post(server.url, initializeBody, { authorization: header });
      expect(res.status, JSON.stringify(header.slice(0, 10))).toBe(200);
      await res.text();
    }
    for (const header of ['Bearer', 'Bearer ', `Basic ${t}`, `Bearer${t}`, `Bearer ${t} extra`]) {
      const res = await post(server.url, initializeBody, { authorization: header });
      expect(res.status, JSON.stringify(header.slice(0, 14))).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });
});
