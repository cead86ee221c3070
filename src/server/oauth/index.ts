/**
 * @module The remote connector (`http.auth: "oauth"`, issue 13): qindex-mcp as the OAuth 2.1 authorization
 * server of MCP clients and an OIDC client of the enterprise IdP. Loaded by state.ts with `await import()`
 * only in this mode, so stdio and the other HTTP modes never load oidc-provider.
 *
 * How a test configures it (all under `http`, upstream IdP = the `idp` section: issuer, clientId, optional
 * clientSecret, scopes incl. openid + offline_access; the IdP must allow `<issuer>/oauth/callback`):
 *   auth: 'oauth', port: 0, host: '127.0.0.1'   (resource then defaults to http://127.0.0.1:<port>/mcp,
 *                                                 the issuer to its origin)
 *   oauth: { clients: [{ clientId, redirectUris, name, clientSecret? }],          pre-registered
 *            clientIdMetadataDocuments: { enabled, allowPrivateNetworks, caFile },  CIMD (tests: a test CA)
 *            registration: { policy: 'open' | 'off' | 'token', initialAccessToken }, DCR
 *            accessTokenSeconds, refreshTokenDays, consentDays, signInSeconds }
 *   redisUrl + cacheKey: state shared by replicas; else memory written sealed to <config dir>/oauth-state.json
 *   (QINDEX_CONFIG_DIR moves it; the key is http.cacheKey or a 0600 key file created beside it).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { HttpConfig } from '../../config/http.js';
import { configDir } from '../../config/paths.js';
import type { QindexConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { BearerVerifier } from '../http/bearer.js';
import { parseCacheKey } from '../http/shared-cache.js';
import type { TenantResolver } from '../http/tenants.js';
import { grantSetName } from './adapter.js';
import { createGrants } from './grants.js';
import { createInteractions } from './interactions.js';
import { loadOrCreateKeys } from './keys.js';
import { createProvider } from './provider.js';
import { createMemoryKv, createRedisKv, type Kv } from './store.js';
import { createUpstream } from './upstream.js';
import { createAccessTokenVerifier, grantIdOf } from './verify.js';

export interface Connector {
  issuer: string;
  resource: string;
  /** The redirect URI to register at the IdP. */
  callbackUrl: string;
  verify: BearerVerifier;
  /** A fresh upstream ID token for the grant named in this (verified) access token of ours. */
  freshIdToken(accessToken: string): Promise<string>;
  /** True for the paths the authorization server answers. */
  handles(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): Promise<void>;
}

export interface ConnectorOptions {
  config: QindexConfig;
  http: HttpConfig;
  /** The port the server listens on (the loopback default resource names it). */
  port: number;
  logger: Logger;
  tenantOf: TenantResolver;
  /** Initial access token from QINDEX_OAUTH_REGISTRATION_TOKEN, already merged into http by config. */
  registrationToken?: string;
}

const WELL_KNOWN = new Set(['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']);

/** This server's resource URL: http.resource, or the loopback URL of this port and path. */
export function resourceOf(http: HttpConfig, port: number): string {
  if (http.resource) return http.resource;
  const host = http.host.includes(':') ? `[${http.host}]` : http.host;
  return `http://${host}:${port}${http.path}`;
}

/** The key sealing the state: http.cacheKey, else one generated once into the state directory (0600). */
function stateKey(http: HttpConfig, dir: string): Buffer {
  if (http.cacheKey) return parseCacheKey(http.cacheKey);
  const file = join(dir, 'oauth-state.key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return parseCacheKey(readFileSync(file, 'utf8').trim());
}

export async function createConnector(o: ConnectorOptions): Promise<Connector> {
  const { http, config, logger } = o;
  const resource = resourceOf(http, o.port);
  const issuer = (http.oauth.issuer ?? new URL(resource).origin).replace(/\/$/, '');
  const dir = configDir();
  const kv: Kv = http.redisUrl
    ? createRedisKv(http.redisUrl, parseCacheKey(http.cacheKey), logger)
    : createMemoryKv(stateKey(http, dir), { file: join(dir, 'oauth-state.json') });
  const keys = await loadOrCreateKeys(kv);
  const upstream = createUpstream(config.idp, issuer);
  let revokeGrant: (grantId: string) => Promise<void> = async () => undefined;
  const grants = createGrants({
    kv,
    upstream,
    logger,
    pendingSeconds: http.oauth.signInSeconds,
    grantSeconds: http.oauth.refreshTokenDays * 24 * 60 * 60,
    revoke: (id) => revokeGrant(id),
  });
  const provider = createProvider({
    issuer,
    resource,
    http,
    kv,
    keys,
    grants,
    registrationToken: http.oauth.registration.initialAccessToken ?? o.registrationToken,
  });
  revokeGrant = async (grantId) => {
    await kv.delMembers(grantSetName(grantId));
    await provider.Grant.adapter.destroy(grantId);
  };
  provider.on('grant.revoked', (_ctx: unknown, grantId: string) => {
    grants.forget(grantId).catch(() => undefined);
  });
  // The refusal's detail (e.g. "PKCE verification failed") names no token; the client got the error code.
  for (const event of [
    'grant.error',
    'authorization.error',
    'registration_create.error',
    'revocation.error',
  ]) {
    const log = (_ctx: unknown, err: Error & { error_detail?: string }) =>
      logger.debug(
        { event, detail: err.error_detail ?? err.message },
        'authorization server refused a request',
      );
    // One listener shape for events whose typings are split across overloads.
    (provider.on as (e: string, l: typeof log) => void).call(provider, event, log);
  }
  provider.on('server_error', (_ctx: unknown, err: Error) => {
    logger.warn({ err: err.name }, 'authorization server error');
  });

  const interactions = createInteractions({
    provider,
    upstream,
    grants,
    kv,
    logger,
    signInSeconds: http.oauth.signInSeconds,
    consentDays: http.oauth.consentDays,
    tenantClaim: http.tenantClaim,
    configuredClients: new Set(http.oauth.clients.map((c) => c.clientId)),
    applicationOf: (tenant) => o.tenantOf.configOf(tenant).q.applicationId,
  });
  const callback = provider.callback();
  const verify = createAccessTokenVerifier({
    issuer,
    resource,
    upstreamIssuer: config.idp.issuer,
    publicJwks: keys.publicJwks as Parameters<typeof createAccessTokenVerifier>[0]['publicJwks'],
    alive: async (gid) => !!(await provider.Grant.find(gid)) && !!(await grants.find(gid)),
  });

  return {
    issuer,
    resource,
    callbackUrl: upstream.redirectUri,
    verify,
    async freshIdToken(accessToken) {
      const gid = grantIdOf(accessToken);
      if (!gid) throw new Error('not an access token of this server');
      return grants.freshIdToken(gid);
    },
    handles: (path) => path.startsWith('/oauth/') || WELL_KNOWN.has(path),
    async handle(req, res) {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      try {
        if (await interactions(req, res, path)) return;
        callback(req, res);
      } catch (e) {
        logger.warn({ err: (e as Error).name }, 'authorization server: interaction failed');
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify({ error: 'server_error', error_description: 'the sign-in step failed' }));
      }
    },
    close: () => kv.close(),
  };
}
