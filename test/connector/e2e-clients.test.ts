/**
 * The connector end to end (issue 13): the MCP SDK client's own OAuth support connects with nothing but the
 * URL — by CIMD (document over https from loopback, test CA trusted), by DCR and pre-registered — the user
 * signs in at the Cognito-like pool and consents in headless Chromium, then tools/list and a search run as
 * that user; users of two tenants and two roles see different documents; the data-accessor chain takes the
 * pool's ID token only (the emulator's records); consent denied is access_denied; no secret leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAuthError } from '@modelcontextprotocol/client';
import type { Browser } from 'playwright-core';
import { useSandbox } from '../helpers/sandbox.js';
import { launchChromium } from '../helpers/chromium.js';
import { startHttpsFixture, type HttpsFixture } from '../helpers/https-fixture.js';
import {
  BrowserOAuthProvider,
  LoopbackRedirect,
  authorizationError,
  connectWithOAuth,
  type OAuthConnection,
  type Registration,
} from '../helpers/oauth-client.js';
import { search } from '../http/harness.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { sandboxSecrets, startConnector, type ConnectorServer } from './e2e-harness.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const PRE = { clientId: 'e2e-preregistered', name: 'Pre-registered E2E client' };
const ACME = 'Acme Rocket Sled Safety Procedure';
const ACME_MANAGERS = 'Acme Quarterly Business Review Q2';
const GLOBEX = 'Globex Hammock District Site Guide';

let fixture: HttpsFixture;
let browser: Browser;
let connector: ConnectorServer;
const preRedirect = new LoopbackRedirect();
const redirects: LoopbackRedirect[] = [preRedirect];
const connections: OAuthConnection[] = [];
const providers: BrowserOAuthProvider[] = [];
/** Every tool result text the clients saw (canary check). */
const seen: string[] = [];

beforeAll(async () => {
  [fixture, browser] = await Promise.all([startHttpsFixture(), launchChromium(), preRedirect.start()]);
  connector = await startConnector(sandbox(), {
    http: {
      oauth: {
        clients: [{ clientId: PRE.clientId, name: PRE.name, redirectUris: [preRedirect.url] }],
        clientIdMetadataDocuments: { enabled: true, allowPrivateNetworks: true, caFile: fixture.caFile },
        registration: { policy: 'open' },
      },
    },
  });
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.client.close().catch(() => undefined)));
  await connector?.close();
  await browser?.close();
  await fixture?.close();
  await Promise.all(redirects.map((r) => r.stop()));
});

async function signIn(registration: Registration | 'cimd', username: string, redirect?: LoopbackRedirect) {
  const r = redirect ?? new LoopbackRedirect();
  if (!redirect) {
    await r.start();
    redirects.push(r);
  }
  const reg: Registration =
    registration === 'cimd'
      ? {
          kind: 'cimd',
          url: fixture.serveCimd(`/clients/${username}.json`, {
            redirectUris: [r.url],
            clientName: 'CIMD E2E client',
          }),
        }
      : registration;
  const provider = new BrowserOAuthProvider(browser, r, reg, { username, password: `${username}-pw` });
  providers.push(provider);
  const connection = await connectWithOAuth(connector.url, provider);
  connections.push(connection);
  return { provider, ...connection };
}

async function searchTitles(connection: OAuthConnection, query: string) {
  const result = await search(connection.client, query);
  seen.push(result.text);
  expect(result.isError, result.text).toBe(false);
  return result.titles;
}

describe('connector: any MCP client connects by URL alone', () => {
  it('CIMD: the client_id is the https URL of its metadata document; alice searches her tenant', async () => {
    const alice = await signIn('cimd', 'alice');
    const cimdUrl = `${fixture.origin}/clients/alice.json`;
    expect(alice.provider.clientInformation()?.client_id).toBe(cimdUrl);
    expect(fixture.hits('/clients/alice.json')).toBeGreaterThan(0);
    // The consent page names the client (the document's name with its host).
    expect(alice.provider.pageTexts.join('\n')).toContain('CIMD E2E client');
    expect(alice.provider.pageTexts.join('\n')).toContain('127.0.0.1');

    const tools = await alice.client.listTools();
    expect(tools.tools.map((t) => t.name)).toContain('search_relevant_content');
    expect(await searchTitles(alice, 'Acme rocket sled safety procedure')).toContain(ACME);
    const who = await alice.client.callTool({ name: 'whoami', arguments: {} });
    seen.push(JSON.stringify(who));
    expect(who.structuredContent).toMatchObject({ tenantId: 'tenant-acme' });
  });

  it('DCR: the SDK registers itself; dave (globex) sees his tenant and not acme', async () => {
    const dave = await signIn({ kind: 'dcr' }, 'dave');
    const clientId = dave.provider.clientInformation()?.client_id;
    expect(clientId).toEqual(expect.any(String));
    expect(clientId).not.toMatch(/^https:/);
    expect(await searchTitles(dave, 'Globex Hammock District site guide')).toContain(GLOBEX);
    expect(await searchTitles(dave, 'Acme rocket sled safety procedure')).not.toContain(ACME);
  });

  it('pre-registered: bob (a manager) sees the Acme business review that alice does not', async () => {
    const bob = await signIn({ kind: 'preregistered', clientId: PRE.clientId }, 'bob', preRedirect);
    // The client id is the operator's, used as configured (no registration, no metadata fetch).
    expect(bob.provider.clientInformation()?.client_id).toBe(PRE.clientId);
    expect(await searchTitles(bob, 'Acme quarterly business review anvils')).toContain(ACME_MANAGERS);
    const alice = connections[0]!;
    expect(await searchTitles(alice, 'Acme quarterly business review anvils')).not.toContain(ACME_MANAGERS);
  });

  it('consent denied: the client gets access_denied and no token', async () => {
    const r = new LoopbackRedirect();
    await r.start();
    redirects.push(r);
    const provider = new BrowserOAuthProvider(
      browser,
      r,
      { kind: 'dcr' },
      {
        username: 'carol',
        password: 'carol-pw',
        consent: 'deny',
      },
    );
    const err = await authorizationError(connector.url, provider);
    expect(err).toBeInstanceOf(OAuthError);
    expect((err as OAuthError).code).toBe('access_denied');
    expect(r.received.at(-1)?.get('error')).toBe('access_denied');
    expect(provider.tokens()).toBeUndefined();
  });

  it("the data-accessor chain took the pool's ID token: no assertion with another aud reached CreateTokenWithIAM", async () => {
    const records = await control().assertions();
    const pool = sandbox().description.cognito;
    expect(records.length).toBeGreaterThanOrEqual(3);
    for (const r of records) {
      expect(r).toMatchObject({ iss: pool.issuer, aud: [pool.clientId], outcome: 'ok' });
    }
  });

  it('canary: no upstream token, MCP token, AWS credential or identity context in logs or responses', async () => {
    const mcpTokens = providers.flatMap((p) => {
      const t = p.tokens();
      return t ? [t.access_token, ...(t.refresh_token ? [t.refresh_token] : [])] : [];
    });
    expect(mcpTokens.length).toBeGreaterThanOrEqual(6);
    const secrets = [...sandboxSecrets(sandbox()), ...mcpTokens];
    expect(secrets.length).toBeGreaterThan(10);
    const logs = connector.logs.join('');
    expect(logs.length).toBeGreaterThan(0);
    const outward = [...seen, ...providers.flatMap((p) => p.pageTexts)].join('\n');
    for (const secret of secrets) {
      expect(logs.includes(secret), 'a secret in the server log').toBe(false);
      expect(outward.includes(secret), 'a secret in a response or page').toBe(false);
    }
  });
});
