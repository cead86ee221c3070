/**
 * Bearer mode end to end: the real server, tools and identity exchange against the sandbox, MCP SDK
 * clients with sandbox-issued JWTs. Users see only what their ACLs allow, bad tokens get 401 with the
 * RFC 9728 challenge, sessions belong to their user, Origin/Host are checked, and no secret leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { SdkHttpError } from '@modelcontextprotocol/client';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { createLogger } from '../../src/log.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { badTokens } from './tokens.js';
import { bearerConfig, connect, initializeBody, post, search, startBearerServer } from './harness.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const logs: string[] = [];
let server: HttpServerHandle;
let stateless: HttpServerHandle;
const token = (username: string) =>
  controlClient(sandbox().description.control).mintAccessToken({
    username,
    clientId: sandbox().description.clients.isv,
  });

beforeAll(async () => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => logs.push(d.toString()));
  const logger = createLogger({ level: 'trace', destination: sink });
  server = await startBearerServer(sandbox(), bearerConfig(sandbox()), { logger });
  stateless = await startBearerServer(
    sandbox(),
    bearerConfig(sandbox(), 'data-accessor', { http: { stateless: true } }),
  );
});
afterAll(async () => {
  await Promise.all([server?.close(), stateless?.close()]);
});

const RUNBOOK = 'Runbook: payments-api';
const QBR = 'Acme Quarterly Business Review Q2';

describe('HTTP transport, bearer mode', () => {
  it('serves RFC 9728 metadata naming the IdP as authorization server', async () => {
    const d = sandbox().description;
    const res = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', server.url));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      resource: d.mcpResource,
      authorization_servers: [d.issuer],
      bearer_methods_supported: ['header'],
    });
  });

  it('answers a request without a token with 401 and the resource_metadata challenge', async () => {
    const res = await post(server.url, initializeBody);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="https://mcp.sandbox.example/.well-known/oauth-protected-resource/mcp"',
    );
    const error = await connect(server.url, undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SdkHttpError);
    expect((error as SdkHttpError).status).toBe(401);
  });

  it('refuses expired, wrong-audience, wrong-issuer, tampered, alg:none and HMAC-confused tokens with 401', async () => {
    const bad = await badTokens(sandbox(), 'alice');
    for (const [name, t] of Object.entries(bad)) {
      const res = await post(server.url, initializeBody, { authorization: `Bearer ${t}` });
      expect(res.status, name).toBe(401);
      const challenge = res.headers.get('www-authenticate') ?? '';
      expect(challenge, name).toMatch(
        /^Bearer error="invalid_token", error_description="[^"]+", resource_metadata="/,
      );
      expect(await res.text(), name).not.toContain(t);
    }
  });

  it('serves two users at once, each with only what their ACLs allow', async () => {
    const [alice, bob] = await Promise.all([
      token('alice').then((t) => connect(server.url, t)),
      token('bob').then((t) => connect(server.url, t)),
    ]);
    const rounds = await Promise.all(
      [0, 1, 2].flatMap(() => [
        search(alice.client, 'payments-api runbook'),
        search(bob.client, 'Acme quarterly business review'),
        search(alice.client, 'Acme quarterly business review'),
        search(bob.client, 'payments-api runbook'),
      ]),
    );
    for (let i = 0; i < rounds.length; i += 4) {
      const [aliceRunbook, bobQbr, aliceQbr, bobRunbook] = rounds.slice(i, i + 4);
      expect(aliceRunbook!.isError, aliceRunbook!.text).toBe(false);
      expect(aliceRunbook!.titles).toContain(RUNBOOK);
      expect(bobQbr!.titles).toContain(QBR);
      expect(aliceQbr!.titles).not.toContain(QBR);
      expect(bobRunbook!.isError, bobRunbook!.text).toBe(false);
      expect(bobRunbook!.titles).not.toContain(RUNBOOK);
    }
    const who = await bob.client.callTool({ name: 'whoami', arguments: {} });
    expect(who.structuredContent).toMatchObject({ signedIn: true, user: { subject: subjectOf('bob') } });
    await Promise.all([alice.client.close(), bob.client.close()]);
  });

  it('answers a tool call with an actionable error result when the exchange is refused (not a 401)', async () => {
    // mallory is known to the IdP but not to IAM Identity Center (the email-mismatch failure).
    const mallory = await connect(server.url, await token('mallory'));
    const result = await search(mallory.client, 'vpn');
    expect(result.isError).toBe(true);
    expect(result.text).toMatch(/IAM Identity Center/);
    await mallory.client.close();
  });

  it('keeps several sessions of one user open beyond the per-user request limit', async () => {
    const t = await token('dave');
    // Each open session holds a GET notification stream; 20 of them exceed the 16 request slots.
    const sessions = [];
    for (let i = 0; i < 20; i++) sessions.push(await connect(server.url, t));
    const results = [];
    for (const { client } of sessions) results.push(await search(client, 'office guide'));
    expect(results.filter((r) => r.isError)).toEqual([]);
    await Promise.all(sessions.map(({ client }) => client.close()));
  });

  it("answers 404 to another user's token on a session id", async () => {
    const alice = await connect(server.url, await token('alice'));
    const sessionId = alice.transport.sessionId!;
    expect(sessionId).toBeTruthy();
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const headers = (t: string) => ({
      authorization: `Bearer ${t}`,
      'mcp-session-id': sessionId,
      'mcp-protocol-version': '2025-06-18',
    });
    const asBob = await post(server.url, list, headers(await token('bob')));
    expect(asBob.status).toBe(404);
    const asAlice = await post(server.url, list, headers(await token('alice')));
    expect(asAlice.status).toBe(200);
    await alice.client.close();
  });

  it('refuses a foreign Origin or Host with 403, even with a valid token', async () => {
    const auth = { authorization: `Bearer ${await token('alice')}` };
    const evil = await post(server.url, initializeBody, { ...auth, origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    const local = await post(server.url, initializeBody, { ...auth, origin: new URL(server.url).origin });
    expect(local.status).toBe(200);
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(server.url, {
        method: 'POST',
        headers: { ...auth, host: 'rebind.evil.example', 'content-type': 'application/json' },
      });
      req.on('response', (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(JSON.stringify(initializeBody));
    });
    expect(status).toBe(403);
  });

  it('answers an oversized body with 413', async () => {
    const big = { ...initializeBody, params: { ...initializeBody.params, pad: 'x'.repeat(2 * 1024 * 1024) } };
    const res = await post(server.url, big, { authorization: `Bearer ${await token('alice')}` });
    expect(res.status).toBe(413);
  });

  it('serves statelessly: no session id, every request on its own', async () => {
    const alice = await connect(stateless.url, await token('alice'));
    expect(alice.transport.sessionId).toBeUndefined();
    const first = await search(alice.client, 'payments-api runbook');
    expect(first.titles).toContain(RUNBOOK);
    const second = await search(alice.client, 'Acme quarterly business review');
    expect(second.titles).not.toContain(QBR);
    expect(stateless.stats().sessions).toBe(0);
    await alice.client.close();
  });

  it('never logs the bearer token or the AWS credentials', async () => {
    const t = await token('carol');
    const carol = await connect(server.url, t);
    expect((await search(carol.client, 'payments-api runbook')).isError).toBe(false);
    await carol.client.close();
    const all = logs.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(t);
    expect(all).not.toContain(t.split('.')[2]!);
    for (const s of sandbox().state.sessions.values()) {
      expect(all).not.toContain(s.secretAccessKey);
      expect(all).not.toContain(s.sessionToken);
    }
  });
});
