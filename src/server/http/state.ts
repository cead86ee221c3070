/**
 * @module Everything the HTTP server keeps between requests, created in this one place: the users and
 * their contexts, the sessions, the request slots and in-flight count, the per-user upstream gate, the
 * shared credential cache, the bearer verifier and the drain switch. app.ts hands the pieces to the
 * request stages and takes them down on close.
 */
import { isLoopback } from '../../config/loopback.js';
import type { QindexConfig } from '../../config/schema.js';
import { HttpSchema, type HttpConfig } from '../../config/http.js';
import { ErrorCode, QindexError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { createQTransport } from '../../q/transport.js';
import type { ToolContext } from '../../tools/context.js';
import type { Connector } from '../oauth/index.js';
import { configuredBearerVerifier, type BearerVerifier } from './bearer.js';
import type { CreateServer } from './endpoint.js';
import {
  createCallGate,
  createConcurrencyLimiter,
  createInFlight,
  type ConcurrencyLimiter,
  type InFlight,
} from './limits.js';
import { noteQFailure } from './reauth.js';
import { createSessionStore, type SessionStore } from './sessions.js';
import { createSharedCredentialCache, parseCacheKey, type SharedCredentialCache } from './shared-cache.js';
import { createDrain, type Drain } from './stages/drain.js';
import { createTenantResolver, type TenantResolver } from './tenants.js';
import { gateQClient } from './upstream.js';
import { createUserCache, type UserCache } from './user-cache.js';
import { createUserContextFactory, type UserContext, type UserContextFactory } from './user-context.js';

export interface HttpServerDeps {
  logger: Logger;
  /** Local mode: the profile's signed-in user, as over stdio. */
  localContext?: ToolContext;
  /** Builds the MCP server for one session or request, for its era (the real one: createMcpServer). */
  createServer: CreateServer;
  /** Bearer mode: builds a user's context; default = their identity exchange + Q client. */
  userContext?: UserContextFactory;
  /** The deployment's own AWS credentials for the exchange; default: the SDK's default chain. */
  baseCredentials?: Parameters<typeof createUserContextFactory>[0]['baseCredentials'];
}

export interface HttpState {
  http: HttpConfig;
  /** This server's resource URL (the audience of bearer tokens); '' in local mode. */
  resource: string;
  /** Bearer and oauth mode. */
  verify: BearerVerifier | undefined;
  /** The authorization server the protected-resource metadata names: the IdP, or ours in oauth mode. */
  authorizationServer: string;
  /** OAuth mode: this server's own authorization server, attached by startConnector once listening. */
  connector: Connector | undefined;
  tenantOf: TenantResolver;
  users: UserCache<UserContext>;
  /** Local mode only: the signed-in user's context, its Q calls gated like a bearer user's. */
  localContext: ToolContext | undefined;
  sessions: SessionStore;
  concurrency: ConcurrencyLimiter;
  inFlight: InFlight;
  drain: Drain;
  shared: SharedCredentialCache | undefined;
  /** Bearer mode: the one connection pool every user's Q client signs its own requests over. */
  qTransport: ReturnType<typeof createQTransport> | undefined;
}

/** The http section, refused when the mode cannot be served safely. */
function servableHttp(config: QindexConfig, deps: HttpServerDeps): HttpConfig {
  const http = config.http ?? HttpSchema.parse({});
  const bearer = http.auth === 'bearer';
  const local = http.auth === 'none';
  if (bearer && !http.resource) {
    throw new QindexError(
      ErrorCode.ConfigInvalid,
      'http.auth "bearer" needs http.resource, the audience of tokens.',
      {
        remedy: "Set http.resource to this server's public URL, e.g. https://mcp.example.com/mcp.",
      },
    );
  }
  if (local && !deps.localContext) {
    throw new QindexError(
      ErrorCode.ConfigInvalid,
      'Local HTTP mode needs the signed-in user of the profile.',
    );
  }
  // Local mode has no authentication (a Host header is no credential): off loopback, anyone who can reach
  // the port would act as the signed-in user.
  if (local && !isLoopback(http.host)) {
    throw new QindexError(
      ErrorCode.ConfigInvalid,
      `Local HTTP mode (http.auth "none") serves the signed-in user without authentication, so it binds loopback only, not ${http.host}.`,
      { remedy: 'Drop --host (127.0.0.1 is the default), or serve many users with --auth bearer.' },
    );
  }
  return http;
}

export function createHttpState(config: QindexConfig, deps: HttpServerDeps, logger: Logger): HttpState {
  const http = servableHttp(config, deps);
  const oauth = http.auth === 'oauth';
  // Remote users, each with their own credentials: bearer tokens, or tokens of our own authorization server.
  const bearer = http.auth === 'bearer' || oauth;
  const resource = http.resource ?? '';
  // OAuth mode: the connector exists once the server listens (its default resource names the port).
  const late: { connector?: Connector } = {};
  const connector = () => {
    if (!late.connector)
      throw new QindexError(ErrorCode.Internal, 'The authorization server is not started.');
    return late.connector;
  };
  const { limits } = http;

  const shared =
    bearer && http.redisUrl
      ? createSharedCredentialCache({
          url: http.redisUrl,
          key: parseCacheKey(http.cacheKey),
          logger,
          marginSeconds: config.credentials.refreshMarginSeconds,
        })
      : undefined;
  const verify: BearerVerifier | undefined = oauth
    ? (token) => connector().verify(token)
    : bearer
      ? configuredBearerVerifier(config.idp.issuer, http)
      : undefined;
  const tenantOf = createTenantResolver(config);
  const qTransport = bearer ? createQTransport() : undefined;
  const makeUser =
    deps.userContext ??
    createUserContextFactory({
      logger,
      ...(shared ? { shared } : {}),
      ...(qTransport ? { requestHandler: qTransport } : {}),
      ...(deps.baseCredentials ? { baseCredentials: deps.baseCredentials } : {}),
      ...(oauth ? { freshIdToken: (latest: string) => connector().freshIdToken(latest) } : {}),
    });

  // Every Q call of a user passes here, whichever request (or abandoned connection) started it: the request
  // slots bound what a user may ask for, this bounds what actually runs upstream.
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

  const state: HttpState = {
    http,
    resource,
    verify,
    authorizationServer: config.idp.issuer,
    connector: undefined,
    tenantOf,
    users,
    localContext: deps.localContext ? gated(deps.localContext, 'local') : undefined,
    sessions: createSessionStore({
      max: limits.maxSessions,
      maxPerOwner: limits.maxSessionsPerUser,
      idleMs: limits.sessionIdleSeconds * 1000,
    }),
    concurrency: createConcurrencyLimiter(limits.maxConcurrentPerUser),
    inFlight: createInFlight(),
    drain: createDrain(),
    shared,
    qTransport,
  };
  lateConnectors.set(state, late);
  return state;
}

const lateConnectors = new WeakMap<HttpState, { connector?: Connector }>();

/**
 * OAuth mode, once listening: starts this server's authorization server (loaded only now, so stdio and
 * the other modes never load oidc-provider) and points the state's resource and metadata at it.
 */
export async function startConnector(
  state: HttpState,
  config: QindexConfig,
  port: number,
  logger: Logger,
): Promise<void> {
  if (state.http.auth !== 'oauth') return;
  const { createConnector } = await import('../oauth/index.js');
  const connector = await createConnector({
    config,
    http: state.http,
    port,
    logger,
    tenantOf: state.tenantOf,
  });
  lateConnectors.get(state)!.connector = connector;
  state.connector = connector;
  state.resource = connector.resource;
  state.authorizationServer = connector.issuer;
}

/** Takes down what `createHttpState` made, once no request can arrive any more (sessions first). */
export async function disposeHttpState(state: HttpState): Promise<void> {
  await state.sessions.closeAll();
  state.users.clear();
  state.qTransport?.destroy();
  await state.shared?.close();
  await state.connector?.close();
}
