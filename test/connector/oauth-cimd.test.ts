/**
 * @module Client ID Metadata Documents at the connector (issue 13), served over https from loopback with a
 * throwaway test CA the server is told to trust: a good document makes a client (fetched once, cached); a
 * plain-http client_id, a document naming another client_id, one too big, one too slow, an error status are
 * refused with the OAuth error; with private networks not allowed, a loopback URL is never even fetched.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { createMcpServer } from '../../src/server/mcp.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http/app.js';
import { configFor } from '../helpers/config.js';
import { startHttpsFixture, type HttpsFixture } from '../helpers/https-fixture.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();
let dir: string;
let fixture: HttpsFixture;
const servers: HttpServerHandle[] = [];
const REDIRECT = 'http://127.0.0.1:7777/callback';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'qindex-oauth-'));
  process.env.QINDEX_CONFIG_DIR = dir;
  fixture = await startHttpsFixture();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await fixture?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(allowPrivateNetworks: boolean) {
  const d = sandbox().description;
  const config = configFor(d, 'data-accessor', {
    http: {
      auth: 'oauth',
      port: 0,
      oauth: { clientIdMetadataDocuments: { enabled: true, allowPrivateNetworks, caFile: fixture.caFile } },
    },
  });
  const server = await startHttpServer(config, {
    logger: createLogger({ level: 'silent' }),
    createServer: createMcpServer,
  });
  servers.push(server);
  return server.url;
}

/** The authorization request of a client whose client_id is `clientId`. */
async function authorize(mcp: string, clientId: string) {
  const url = new URL('/oauth/authorize', mcp);
  const params = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    state: 's',
    resource: mcp,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  const body =
    res.status === 303 ? undefined : ((await res.json()) as { error: string; error_description: string });
  return { status: res.status, location: res.headers.get('location'), body };
}

describe('CIMD with a trusted test CA and private networks allowed (tests)', () => {
  let mcp: string;
  beforeAll(async () => {
    mcp = await start(true);
  });

  it('a good document makes a client, fetched once and then cached', async () => {
    const id = fixture.serveCimd('/good.json', { redirectUris: [REDIRECT], clientName: 'Agent by URL' });
    const first = await authorize(mcp, id);
    expect(first.status).toBe(303);
    expect(new URL(first.location!, mcp).pathname).toMatch(/^\/oauth\/interaction\//);
    expect((await authorize(mcp, id)).status).toBe(303);
    expect(fixture.hits('/good.json')).toBe(1);
  });

  it('refuses a redirect URI the document does not list', async () => {
    const id = fixture.serveCimd('/other-redirect.json', {
      redirectUris: ['http://127.0.0.1:7777/elsewhere'],
    });
    const res = await authorize(mcp, id);
    expect(res.status).toBe(400);
    expect(res.body?.error).toBe('invalid_redirect_uri');
  });

  it.each([
    [
      'names another client_id',
      '/mismatch.json',
      { clientId: 'https://evil.example/client.json' },
      'invalid_client_metadata',
    ],
    ['is too big', '/big.json', { padBytes: 8 * 1024 }, 'invalid_client'],
    ['is too slow', '/slow.json', { delayMs: 4000 }, 'invalid_client'],
    ['answers 404', '/gone.json', { status: 404 }, 'invalid_client'],
    [
      'offers a shared secret',
      '/secret.json',
      { extra: { token_endpoint_auth_method: 'client_secret_post' } },
      'invalid_client_metadata',
    ],
  ] as const)('refuses a document that %s', async (_what, path, options, error) => {
    const id = fixture.serveCimd(path, { redirectUris: [REDIRECT], ...options });
    const res = await authorize(mcp, id);
    expect(res.status).toBe(400);
    expect(res.body?.error).toBe(error);
    expect(typeof res.body?.error_description).toBe('string');
  });

  it('refuses a plain-http client_id URL, which is no metadata document', async () => {
    const res = await authorize(mcp, `http://127.0.0.1:${new URL(fixture.origin).port}/good.json`);
    expect(res.status).toBe(400);
    expect(res.body?.error).toBe('invalid_client');
  });
});

describe('CIMD with private networks not allowed (the default)', () => {
  it('never fetches a loopback or localhost client_id URL', async () => {
    const mcp = await start(false);
    const port = new URL(fixture.origin).port;
    const id = fixture.serveCimd('/private.json', { redirectUris: [REDIRECT] });
    for (const url of [id, `https://localhost:${port}/private.json`, `https://[::1]:${port}/private.json`]) {
      const res = await authorize(mcp, url);
      expect(res.status, url).toBe(400);
      expect(res.body?.error).toBe('invalid_client');
    }
    expect(fixture.hits('/private.json')).toBe(0);
  });
});
