/**
 * @module `serve --transport http`: the MCP Streamable HTTP endpoint on node:http. Local mode serves the
 * profile's signed-in user on loopback; bearer mode verifies each request's JWT and serves each user with
 * their own credentials, in stateful sessions bound to that user or statelessly for scale-out.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { QindexConfig } from '../../config/schema.js';
import { HttpSchema, type HttpConfig } from '../../config/http.js';
import { QindexError, describeError, isQindexError } from '../../errors.js';
import { isReusedAssertion } from '../../identity/index.js';
import type { Logger } from '../../log.js';
import { createQTransport } from '../../q/client.js';
import type { ToolContext } from '../../tools/context.js';
import { bearerToken, createBearerVerifier, type BearerVerifier, type VerifiedToken } from './bearer.js';
import {
  HttpError,
  connectionLimits,
  createCallGate,
  createConcurrencyLimiter,
  createInFlight,
  parseJson,
  readBody,
} from './limits.js';
import { metadataPaths, protectedResourceMetadata, sendUnauthorized } from './metadata.js';
import { checkOrigin, corsHeaders, createOriginPolicy, isLoopback, preflightHeaders } from './origin.js';
import { createSessionStore } from './sessions.js';
import { createMcpEndpoint, json, rpcError } from './endpoint.js';
import { createSharedCredentialCache, parseCacheKey, type SharedCredentialCache } from './shared-cache.js';
import { createTenantResolver } from './tenants.js';
import { createUserCache, type UserEntry } from './user-cache.js';
import { createUserContextFactory, type UserContext, type UserContextFactory } from './user-context.js';
import { batchRefusal, requestCount, toolErrorResponse, wantsCredentials } from './jsonrpc.js';
import { noteQFailure, serveOrRefuseReused } from './reauth.js';
import { gateQClient } from './upstream.js';

export interface HttpServerDeps {
  logger: Logger;
  /** Local mode: the profile's signed-in user, as over stdio. */
  localContext?: ToolContext;
  /** Builds the MCP server for one session or request (the real one: createMcpServer). */
  createServer: (ctx: ToolContext) => McpServer;
  /** Bearer mode: builds a user's context; default = their identity exchange + Q client. */
  userContext?: UserContextFactory;
  /** The deployment's own AWS credentials for the exchange; default: the SDK's default chain. */
  baseCredentials?: Parameters<typeof createUserContextFactory>[0]['baseCredentials'];
  /** Environment for QINDEX_CACHE_KEY; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface HttpServerHandle {
  url: string;
  port: number;
  server: Server;
  stats(): { sessions: number; cachedUsers: number; inFlight: number };
  /** Stops accepting, lets in-flight calls finish (up to the grace period), then closes everything. */
  close(): Promise<void>;
}

interface Principal {
  /** Owner key of sessions and concurrency slots. */
  key: string;
  ctx: ToolContext;
  /** Bearer mode: the user's credential provider, warmed before a tool call. */
  credentials?: UserContext['credentials'];
}

export async function startHttpServer(config: QindexConfig, deps: HttpServerDeps): Promise<HttpServerHandle> {
  const http: HttpConfig = config.http ?? HttpSchema.parse({});
  const logger = deps.logger.child({ transport: 'http' });
  const bearer = http.auth === 'bearer';
  if (bearer && !http.resource) {
    throw new QindexError(
      'config_invalid',
      'http.auth "bearer" needs http.resource, the audience of tokens.',
      {
        remedy: "Set http.resource to this server's public URL, e.g. https://mcp.example.com/mcp.",
      },
    );
  }
  if (!bearer && !deps.localContext) {
    throw new QindexError('config_invalid', 'Local HTTP mode needs the signed-in user of the profile.');
  }
  // Local mode has no authentication (a Host header is no credential): off loopback, anyone who can reach
  // the port would act as the signed-in user.
  if (!bearer && !isLoopback(http.host)) {
    throw new QindexError(
      'config_invalid',
      `Local HTTP mode (http.auth "none") serves the signed-in user without authentication, so it binds loopback only, not ${http.host}.`,
      { remedy: 'Drop --host (127.0.0.1 is the default), or serve many users with --auth bearer.' },
    );
  }
  const resource = http.resource ?? '';
  const limits = http.limits;

  let shared: SharedCredentialCache | undefined;
  if (bearer && http.redisUrl) {
    shared = createSharedCredentialCache({
      url: http.redisUrl,
      key: parseCacheKey(http.cacheKey ?? (deps.env ?? process.env).QINDEX_CACHE_KEY),
      logger,
      marginSeconds: config.credentials.refreshMarginSeconds,
    });
  }
  const verify: BearerVerifier | undefined = bearer
    ? createBearerVerifier({
        issuer: config.idp.issuer,
        audience: resource,
        algorithms: http.algorithms,
        ...(http.jwksUri ? { jwksUri: http.jwksUri } : {}),
      })
    : undefined;
  const tenantOf = createTenantResolver(config);
  // Every user's Q client signs with its own credentials over one shared connection pool.
  const qTransport = bearer ? createQTransport() : undefined;
  const makeUser =
    deps.userContext ??
    createUserContextFactory({
      logger,
      ...(shared ? { shared } : {}),
      ...(qTransport ? { requestHandler: qTransport } : {}),
      ...(deps.baseCredentials ? { baseCredentials: deps.baseCredentials } : {}),
    });
  // Every Q call of a user passes here, whichever request (or abandoned connection) started it: the request
  // slots below bound what a user may ask for, this bounds what actually runs upstream.
  const upstream = createCallGate(
    limits.maxConcurrentPerUser,
    limits.maxConcurrentPerUser,
    'http.limits.maxConcurrentPerUser',
  );
  const gated = (ctx: ToolContext, key: string): ToolContext => ({
    ...ctx,
    q: gateQClient(ctx.q, (call, signal) =>
      upstream.run(key, call, signal).catch((e: unknown) => {
        noteQFailure(e);
        throw e;
      }),
    ),
  });
  const localContext = deps.localContext ? gated(deps.localContext, 'local') : undefined;
  const users = createUserCache<UserContext>({
    max: limits.maxCachedUsers,
    idleMs: limits.userIdleSeconds * 1000,
    build: (identity, key, latestToken) => {
      const user = makeUser(tenantOf.configOf(identity.tenant), identity, key, latestToken);
      return { ...user, context: gated(user.context, key) };
    },
    // Later, not now: a call that started just before the eviction may still be using the client.
    onEvict: (entry) => setTimeout(() => entry.context.dispose(), 60_000).unref(),
  });
  const sessions = createSessionStore({
    max: limits.maxSessions,
    maxPerOwner: limits.maxSessionsPerUser,
    idleMs: limits.sessionIdleSeconds * 1000,
  });
  const concurrency = createConcurrencyLimiter(limits.maxConcurrentPerUser);
  const inFlight = createInFlight();
  const serveMcp = createMcpEndpoint({
    stateless: http.stateless,
    sessions,
    createServer: deps.createServer,
  });
  const metadata = new Set(bearer ? metadataPaths(resource) : []);
  let draining = false;

  const server = createServer(connectionLimits(limits), (req, res) => {
    handle(req, res).catch((e: unknown) => fail(res, e));
  });
  server.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, http.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const policy = createOriginPolicy({
    bindHost: http.host,
    port,
    allowedHosts: http.allowedHosts,
    allowedOrigins: http.allowedOrigins,
  });
  const displayHost = http.host.includes(':') ? `[${http.host}]` : http.host;
  const url = `http://${displayHost}:${port}${http.path}`;
  logger.info(
    { url, auth: http.auth, stateless: http.stateless, shared: !!shared },
    'MCP HTTP server listening',
  );

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/healthz' && req.method === 'GET') {
      return json(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ok' });
    }
    if (metadata.has(path) && req.method === 'GET') {
      res.setHeader('access-control-allow-origin', '*');
      return json(res, 200, protectedResourceMetadata(resource, config.idp.issuer));
    }
    if (path !== http.path) return json(res, 404, rpcError(-32601, 'Not found'));
    const refused = checkOrigin(req, policy);
    if (refused) return json(res, 403, rpcError(-32000, `Forbidden: ${refused}.`));
    if (req.method === 'OPTIONS') {
      res.writeHead(204, preflightHeaders(req)).end();
      return;
    }
    for (const [k, v] of Object.entries(corsHeaders(req))) res.setHeader(k, v);
    if (draining) {
      res.setHeader('connection', 'close');
      return json(res, 503, rpcError(-32000, 'The server is shutting down; retry on another replica.'));
    }

    const principal = await authenticate(req, res);
    if (!principal) return;
    const started = Date.now();
    res.once('finish', () =>
      // The key is a hash of the user: requests can be correlated without naming anyone.
      logger.debug(
        {
          method: req.method,
          status: res.statusCode,
          ms: Date.now() - started,
          user: principal.key.slice(0, 12),
        },
        'request',
      ),
    );
    // GET opens a session's long-lived notification stream: it is bounded by the session count, does
    // not take one of the user's request slots, and shutdown does not wait for it.
    const stream = req.method === 'GET';
    const release = stream ? () => undefined : concurrency.acquire(principal.key);
    if (!release) return tooMany(res);
    const leave = stream ? () => undefined : inFlight.enter();
    let releaseBatch = (): void => undefined;
    res.once('close', () => {
      release();
      releaseBatch();
      leave();
    });

    const body = req.method === 'POST' ? parseJson(await readBody(req, limits.maxBodyBytes)) : undefined;
    // Every request of a batch takes a slot of its own: the SDK runs a batch's requests at once.
    const notBatchable = batchRefusal(body, header(req, 'mcp-protocol-version'), limits.maxConcurrentPerUser);
    if (notBatchable) return json(res, 400, rpcError(-32600, notBatchable));
    const extra = requestCount(body) - 1;
    if (extra > 0) {
      const more = concurrency.acquire(principal.key, extra);
      if (!more) return tooMany(res);
      releaseBatch = more;
    }
    if (!principal.credentials || !wantsCredentials(body)) {
      return serveMcp(req, res, principal.key, principal.ctx, body);
    }
    const answered = await warmCredentials(principal, body, res);
    if (answered) return;
    return serveOrRefuseReused(res, refuseReused, () =>
      serveMcp(req, res, principal.key, principal.ctx, body),
    );
  }

  function tooMany(res: ServerResponse): void {
    res.setHeader('retry-after', '1');
    json(res, 429, rpcError(-32000, 'Too many concurrent requests for this user.'));
  }

  /** 401 for a token IdC already took as an assertion: the client fetches a fresh one and retries. */
  function refuseReused(res: ServerResponse): void {
    sendUnauthorized(res, resource, {
      code: 'invalid_token',
      description: 'This token was already used for a credential exchange; present a fresh token.',
    });
  }

  /** Resolves who is calling; answers 401/403 itself and returns undefined when the request stops here. */
  async function authenticate(req: IncomingMessage, res: ServerResponse): Promise<Principal | undefined> {
    if (!verify) return { key: 'local', ctx: localContext! };
    const presented = bearerToken(req.headers.authorization);
    if (!presented) {
      sendUnauthorized(res, resource);
      return undefined;
    }
    let token: VerifiedToken;
    try {
      token = await verify(presented);
    } catch (e) {
      if (isQindexError(e) && e.code === 'invalid_token') {
        sendUnauthorized(res, resource, { code: 'invalid_token', description: e.message });
        return undefined;
      }
      throw e;
    }
    let tenant: string | undefined;
    try {
      tenant = tenantOf(token.claims).name;
    } catch (e) {
      json(res, 403, rpcError(-32000, describeError(e)));
      return undefined;
    }
    const entry: UserEntry<UserContext> = users.get(token, tenant);
    return { key: entry.key, ctx: liveContext(entry), credentials: entry.context.credentials };
  }

  /**
   * A session outlives a request and may outlive the user's cache entry: its context reads the user's
   * current entry on each use, so it always runs on the newest token and credentials of that user.
   */
  function liveContext(entry: UserEntry<UserContext>): ToolContext {
    const current = () => (users.peek(entry.key) ?? entry).context.context;
    return {
      get config() {
        return current().config;
      },
      get q() {
        return current().q;
      },
      get logger() {
        return current().logger;
      },
      user: () => current().user(),
    };
  }

  /**
   * Exchanges (or reuses) the user's credentials before a tool call, so that an assertion IdC refuses as
   * reused becomes 401 invalid_token (the client fetches a fresh token) instead of a failed tool result.
   * Returns true when it answered the request itself.
   */
  async function warmCredentials(p: Principal, body: unknown, res: ServerResponse): Promise<boolean> {
    try {
      await p.credentials!();
      return false;
    } catch (e) {
      if (isReusedAssertion(e)) {
        refuseReused(res);
        return true;
      }
      logger.warn({ code: isQindexError(e) ? e.code : undefined }, 'credential exchange failed');
      const answer = toolErrorResponse(body, describeError(e));
      if (answer) json(res, 200, answer);
      else json(res, 403, rpcError(-32000, describeError(e)));
      return true;
    }
  }

  function fail(res: ServerResponse, e: unknown) {
    if (e instanceof HttpError) {
      for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
      const code = e.status === 400 ? -32700 : -32000;
      return json(res, e.status, rpcError(code, e.message));
    }
    if (isQindexError(e) && e.code === 'idp_unavailable') {
      return json(res, 503, rpcError(-32000, describeError(e)));
    }
    logger.error({ err: e instanceof Error ? e.message : String(e) }, 'HTTP request failed');
    return json(res, 500, rpcError(-32603, 'Internal server error'));
  }

  async function close(): Promise<void> {
    if (draining) return;
    draining = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const finished = await inFlight.drained(limits.shutdownGraceSeconds * 1000);
    if (!finished) logger.warn({ inFlight: inFlight.count }, 'shutdown grace period over; closing anyway');
    await sessions.closeAll();
    server.closeAllConnections();
    await stopped;
    users.clear();
    qTransport?.destroy();
    await shared?.close();
    logger.info('MCP HTTP server stopped');
  }

  return {
    url,
    port,
    server,
    stats: () => ({ sessions: sessions.size, cachedUsers: users.size, inFlight: inFlight.count }),
    close,
  };
}

const header = (req: IncomingMessage, name: string) => {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
};
