/**
 * Local one-user mode (the default): the profile's signed-in user served over Streamable HTTP on
 * loopback, with the Host and Origin allow-lists that stop DNS rebinding and cross-site requests.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { useSandbox } from '../helpers/sandbox.js';
import { configFor } from '../helpers/config.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { createMcpServer } from '../../src/server/mcp.js';
import { createLocalContext, type LocalContext } from '../../src/server/local-context.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http/app.js';
import { withHttpFlags } from '../../src/server/http/cli.js';
import { HttpSchema } from '../../src/config/http.js';
import { connect, initializeBody, post, search, silent } from './harness.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
let server: HttpServerHandle;
let ctx: LocalContext;

beforeAll(async () => {
  const d = sandbox().description;
  // The default provider chain finds the app's own AWS keys in the environment, as on a workstation.
  process.env.AWS_ACCESS_KEY_ID = d.modes.idc.baseCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = d.modes.idc.baseCredentials.secretAccessKey;
  const refreshToken = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
  const config = withHttpFlags(configFor(d, 'idc'), {
    port: '0',
    'allowed-origin': ['https://inspector.example'],
  });
  ctx = createLocalContext(config, { logger: silent, env: { QINDEX_REFRESH_TOKEN: refreshToken } });
  server = await startHttpServer(config, {
    logger: silent,
    createServer: createMcpServer,
    localContext: ctx,
  });
});
afterAll(async () => {
  await server?.close();
  ctx?.dispose();
});

function rawStatus(headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(server.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
    });
    req.on('response', (r) => {
      r.resume();
      resolve(r.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(JSON.stringify(initializeBody));
  });
}

describe('HTTP transport, local one-user mode', () => {
  it('binds loopback and serves the signed-in user without a token', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const { client } = await connect(server.url, undefined);
    const who = await client.callTool({ name: 'whoami', arguments: {} });
    expect(who.structuredContent).toMatchObject({
      signedIn: true,
      mode: 'idc',
      user: { subject: subjectOf('alice') },
    });
    const found = await search(client, 'payments-api runbook');
    expect(found.isError, found.text).toBe(false);
    expect(found.titles).toContain('Runbook: payments-api');
    await client.close();
  });

  it('refuses a foreign Origin and a rebinding Host with 403, allows loopback and configured origins', async () => {
    const port = new URL(server.url).port;
    expect(await rawStatus({ origin: 'https://evil.example' })).toBe(403);
    expect(await rawStatus({ origin: 'null' })).toBe(403);
    expect(await rawStatus({ host: `attacker.example:${port}` })).toBe(403);
    expect(await rawStatus({ host: `localhost:${port}`, origin: `http://localhost:${port}` })).toBe(200);
    expect(await rawStatus({ origin: 'https://inspector.example' })).toBe(200);
  });

  it('answers CORS preflights from allowed origins only, and exposes the session id to them', async () => {
    const preflight = (origin: string) =>
      fetch(server.url, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const ok = await preflight('https://inspector.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://inspector.example');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/mcp-session-id/);
    expect((await preflight('https://evil.example')).status).toBe(403);
    const init = await post(server.url, initializeBody, { origin: 'https://inspector.example' });
    expect(init.status).toBe(200);
    expect(init.headers.get('access-control-expose-headers')).toMatch(/mcp-session-id/);
    expect(init.headers.get('mcp-session-id')).toBeTruthy();
  });

  it('has no protected-resource metadata, answers unknown paths with 404 and big bodies with 413', async () => {
    expect((await fetch(new URL('/.well-known/oauth-protected-resource', server.url))).status).toBe(404);
    expect((await fetch(new URL('/other', server.url), { method: 'POST' })).status).toBe(404);
    expect((await post(server.url, 'x'.repeat(1_100_000))).status).toBe(413);
    expect((await post(server.url, '{not json')).status).toBe(400);
  });

  it('refuses bearer mode without a resource, and bad flags', async () => {
    const d = sandbox().description;
    // The schema's rule refuses it when the configuration is loaded; the server refuses one built by hand.
    expect(() => configFor(d, 'idc', { http: { auth: 'bearer', port: 0 } })).toThrow(/resource/);
    await expect(
      startHttpServer(
        { ...configFor(d, 'idc'), http: HttpSchema.parse({ auth: 'bearer', port: 0 }) },
        {
          logger: silent,
          createServer: createMcpServer,
        },
      ),
    ).rejects.toMatchObject({ code: 'config_invalid' });
    expect(() => withHttpFlags(configFor(d, 'idc'), { port: 'eighty' })).toThrow(/--port/);
    expect(() => withHttpFlags(configFor(d, 'idc'), { auth: 'basic' })).toThrow(/http\.auth/);
  });

  it('refuses to serve the signed-in user without authentication off loopback', async () => {
    const d = sandbox().description;
    for (const host of ['0.0.0.0', '::', '127.example.com']) {
      expect(() => withHttpFlags(configFor(d, 'idc'), { host, port: '0' })).toThrow(/loopback only/);
      await expect(
        startHttpServer(
          { ...configFor(d, 'idc'), http: HttpSchema.parse({ host, port: 0 }) },
          {
            logger: silent,
            createServer: createMcpServer,
            localContext: ctx,
          },
        ),
      ).rejects.toMatchObject({ code: 'config_invalid', message: expect.stringMatching(/loopback only/) });
    }
  });
});
