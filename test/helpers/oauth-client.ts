/**
 * @module Test helper: the MCP SDK client's own OAuth flow (`OAuthClientProvider`, `auth()` behind the
 * Streamable HTTP transport), with the user's part done in headless Chromium: sign-in at the upstream IdP
 * and the connector's consent page (`#allow` / `#deny`), the code captured at a loopback redirect URI.
 * The client registers the way the SDK picks: pre-registered client info, a CIMD URL, or DCR.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Client,
  StreamableHTTPClientTransport,
  UnauthorizedError,
  type OAuthClientProvider,
} from '@modelcontextprotocol/client';
import type { Browser, Page } from 'playwright-core';

type Provider = OAuthClientProvider;
type ClientInfo = Awaited<ReturnType<Provider['clientInformation']>>;
type Tokens = Awaited<ReturnType<Provider['tokens']>>;
type Discovery = Parameters<NonNullable<Provider['saveDiscoveryState']>>[0];

export type Registration =
  | { kind: 'cimd'; url: string }
  | { kind: 'dcr' }
  | { kind: 'preregistered'; clientId: string; clientSecret?: string };

export interface BrowserUser {
  username: string;
  password: string;
  /** The button the user presses on the consent page (default allow). */
  consent?: 'allow' | 'deny';
}

/** A loopback redirect URI (RFC 8252) that records the authorization response it receives. */
export class LoopbackRedirect {
  private server?: Server;
  private waiting?: (params: URLSearchParams) => void;
  /** Every authorization response seen, in order. */
  readonly received: URLSearchParams[] = [];
  url = '';

  async start(path = '/callback'): Promise<string> {
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== path) return void res.writeHead(404).end();
      this.received.push(url.searchParams);
      res.writeHead(200, { 'content-type': 'text/html' }).end('<p id="done">You can close this window.</p>');
      this.waiting?.(url.searchParams);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`;
    return this.url;
  }

  next(): Promise<URLSearchParams> {
    return new Promise((resolve) => (this.waiting = resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/**
 * Drives the browser from the authorization URL to the loopback redirect: fills every sign-in form it meets
 * (`input[name=login]`) and presses the consent button. Throws with the page's text when it gets stuck.
 */
export async function completeInBrowser(
  page: Page,
  authorizationUrl: string,
  user: BrowserUser,
  redirect: LoopbackRedirect,
  seen: string[] = [],
): Promise<URLSearchParams> {
  const arrived = redirect.next();
  let done = false;
  void arrived.then(() => (done = true));
  await page.goto(authorizationUrl);
  for (let step = 0; step < 12 && !done; step++) {
    const found = await Promise.race([
      arrived.then(() => 'done' as const),
      page
        .waitForSelector('#allow, input[name="login"]', { state: 'visible', timeout: 15_000 })
        .then(async () =>
          (await page.locator('#allow').count()) ? ('consent' as const) : ('login' as const),
        )
        .catch(() => 'stuck' as const),
    ]);
    if (found === 'done') break;
    if (found === 'stuck') {
      if (done) break;
      const text = (await page.textContent('body').catch(() => '')) ?? '';
      throw new Error(`sign-in stuck at ${page.url()}: ${text.replace(/\s+/g, ' ').slice(0, 400)}`);
    }
    const before = page.url();
    seen.push((await page.textContent('body').catch(() => '')) ?? '');
    if (found === 'login') {
      await page.fill('input[name="login"]', user.username);
      await page.fill('input[name="password"]', user.password);
      await Promise.all([page.waitForURL((u) => u.href !== before), page.click('button[type="submit"]')]);
    } else {
      const button = user.consent === 'deny' ? '#deny' : '#allow';
      await Promise.all([page.waitForURL((u) => u.href !== before), page.click(button)]);
    }
  }
  return arrived;
}

/** An in-memory `OAuthClientProvider` whose redirect step is a real browser. */
export class BrowserOAuthProvider implements OAuthClientProvider {
  private info: ClientInfo;
  private saved: Tokens;
  private verifier = '';
  private discovery?: Discovery;
  /** The last authorization response (code or error), for `transport.finishAuth`. */
  callback?: URLSearchParams;
  /** The authorization URLs the SDK built, for assertions on what the client asked. */
  readonly authorizationUrls: URL[] = [];
  /** The text of every sign-in and consent page the user saw (to check what consent names, and canaries). */
  readonly pageTexts: string[] = [];

  constructor(
    private readonly browser: Browser,
    private readonly redirect: LoopbackRedirect,
    private readonly registration: Registration,
    public user: BrowserUser,
    private readonly clientName = 'E2E test client',
  ) {
    if (registration.kind === 'preregistered') {
      this.info = {
        client_id: registration.clientId,
        ...(registration.clientSecret ? { client_secret: registration.clientSecret } : {}),
      };
    }
  }

  get redirectUrl(): string {
    return this.redirect.url;
  }

  get clientMetadataUrl(): string | undefined {
    return this.registration.kind === 'cimd' ? this.registration.url : undefined;
  }

  get clientMetadata() {
    const secret = this.registration.kind === 'preregistered' && this.registration.clientSecret;
    return {
      client_name: this.clientName,
      redirect_uris: [this.redirect.url],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: secret ? 'client_secret_basic' : 'none',
    };
  }

  clientInformation(): ClientInfo {
    return this.info;
  }

  saveClientInformation(info: NonNullable<ClientInfo>): void {
    this.info = info;
  }

  tokens(): Tokens {
    return this.saved;
  }

  saveTokens(tokens: NonNullable<Tokens>): void {
    this.saved = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.verifier = verifier;
  }

  codeVerifier(): string {
    return this.verifier;
  }

  saveDiscoveryState(state: Discovery): void {
    this.discovery = state;
  }

  discoveryState(): Discovery | undefined {
    return this.discovery;
  }

  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): void {
    if (scope === 'all' || scope === 'tokens') this.saved = undefined;
    if ((scope === 'all' || scope === 'client') && this.registration.kind !== 'preregistered')
      this.info = undefined;
    if (scope === 'all' || scope === 'discovery') this.discovery = undefined;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const context = await this.browser.newContext();
    try {
      const page = await context.newPage();
      this.callback = await completeInBrowser(page, url.href, this.user, this.redirect, this.pageTexts);
    } finally {
      await context.close();
    }
  }
}

export interface OAuthConnection {
  client: Client;
  transport: StreamableHTTPClientTransport;
}

const newConnection = (
  url: string,
  provider: OAuthClientProvider,
  headers?: Record<string, string>,
): OAuthConnection => ({
  client: new Client({ name: 'e2e-oauth', version: '1.0.0' }),
  transport: new StreamableHTTPClientTransport(new URL(url), {
    authProvider: provider,
    ...(headers ? { requestInit: { headers } } : {}),
  }),
});

/**
 * Connects with nothing but the URL: the first connect gets 401, the SDK discovers, registers and sends the
 * browser through sign-in and consent; `finishAuth` trades the code; the second connect carries the token.
 */
export async function connectWithOAuth(
  mcpUrl: string,
  provider: BrowserOAuthProvider,
  headers?: Record<string, string>,
): Promise<OAuthConnection> {
  let first = newConnection(mcpUrl, provider, headers);
  try {
    await first.client.connect(first.transport);
    return first; // tokens were already there
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  if (!provider.callback) throw new Error('the SDK asked for no authorization');
  await first.transport.finishAuth(provider.callback);
  await first.transport.close().catch(() => undefined);
  first = newConnection(mcpUrl, provider, headers);
  await first.client.connect(first.transport);
  return first;
}

/** The SDK's own error for an authorization response with `error=…` (e.g. consent denied). */
export async function authorizationError(mcpUrl: string, provider: BrowserOAuthProvider): Promise<unknown> {
  return connectWithOAuth(mcpUrl, provider).then(
    () => undefined,
    (err: unknown) => err,
  );
}
