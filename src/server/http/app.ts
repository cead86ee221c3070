/**
 * @module `serve --transport http`: the MCP Streamable HTTP endpoint on node:http. Local mode serves the
 * profile's signed-in user on loopback; bearer mode verifies each request's JWT and serves each user with
 * their own credentials, in stateful sessions bound to that user or statelessly for scale-out. This file
 * wires the request stages (stages/*) over the state (state.ts), listens, and closes.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { QindexConfig } from '../../config/schema.js';
import { createMcpEndpoint } from './endpoint.js';
import { send, sendError } from './http-error.js';
import { requestCount } from './jsonrpc.js';
import { connectionLimits } from './limits.js';
import { metadataPaths, protectedResourceMetadata } from './metadata.js';
import { serveOrRefuseReused } from './reauth.js';
import { bearerAuth, localAuth, reusedToken } from './stages/auth.js';
import { jsonBody } from './stages/body.js';
import { cors } from './stages/cors.js';
import { needsCredentials, warmCredentials } from './stages/credentials.js';
import { drainGuard } from './stages/drain.js';
import { requestLimits } from './stages/limits.js';
import { requestLog } from './stages/log.js';
import { createOriginPolicy, originGuard } from './stages/origin.js';
import { routes } from './stages/routes.js';
import { pathOf } from './stages/request.js';
import { createHttpState, disposeHttpState, startConnector, type HttpServerDeps } from './state.js';
import { startHttpTelemetry } from './telemetry.js';

export type { HttpServerDeps } from './state.js';

export interface HttpServerHandle {
  url: string;
  port: number;
  server: Server;
  stats(): { sessions: number; cachedUsers: number; inFlight: number };
  /** The Prometheus endpoint, when `http.metricsPort` is set. */
  metricsUrl: string | undefined;
  /** Stops accepting, lets in-flight calls finish (up to the grace period), then closes everything. */
  close(): Promise<void>;
}

export async function startHttpServer(config: QindexConfig, deps: HttpServerDeps): Promise<HttpServerHandle> {
  const logger = deps.logger.child({ transport: 'http' });
  const state = createHttpState(config, deps, logger);
  const { http, sessions, users, inFlight, drain } = state;
  const { limits } = http;

  const server = createServer(connectionLimits(limits));
  server.maxConnections = limits.maxConnections;
  let telemetry: Awaited<ReturnType<typeof startHttpTelemetry>> | undefined;
  try {
    telemetry = await startHttpTelemetry(http, state, logger);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Node's default backlog (511) drops a reconnect storm's SYNs (every client of a replica that
      // went away, say): those connects wait for TCP's retries, 1 + 2 + 4 + … s, and time out.
      server.listen({ port: http.port, host: http.host, backlog: limits.listenBacklog }, () => resolve());
    });
  } catch (e) {
    await telemetry?.close();
    await disposeHttpState(state);
    throw e;
  }
  const observe = telemetry;
  const port = (server.address() as AddressInfo).port;
  try {
    // OAuth mode: our own authorization server, whose default resource names the port just bound.
    await startConnector(state, config, port, logger);
  } catch (e) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await observe.close();
    await disposeHttpState(state);
    throw e;
  }
  const { resource, connector } = state;

  // The stages, in the order a request meets them; each passes on or throws an HttpError.
  const route = routes({
    mcpPath: http.path,
    draining: () => drain.draining,
    ...(state.verify
      ? {
          metadata: {
            paths: metadataPaths(resource),
            document: protectedResourceMetadata(resource, state.authorizationServer),
          },
        }
      : {}),
  });
  const origin = originGuard(
    createOriginPolicy({
      bindHost: http.host,
      port,
      allowedHosts: http.allowedHosts,
      allowedOrigins: http.allowedOrigins,
    }),
  );
  const preflightOrCors = cors();
  const notDraining = drainGuard(drain);
  const authenticate = state.verify
    ? bearerAuth({ verify: state.verify, resource, tenantOf: state.tenantOf, users, logger })
    : localAuth(state.localContext!);
  const log = requestLog(logger);
  const admit = requestLimits({ concurrency: state.concurrency, inFlight });
  const readBody = jsonBody({
    maxBytes: limits.maxBodyBytes,
    maxConcurrentPerUser: limits.maxConcurrentPerUser,
  });
  const credentials = warmCredentials({ logger, resource });
  const endpoint = createMcpEndpoint({
    stateless: http.stateless,
    sessions,
    createServer: deps.createServer,
    logger,
  });
  const serveMcp = endpoint.serve;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: unknown;
    try {
      // The authorization server's own paths (OAuth mode) answer for themselves, in the OAuth error shape.
      if (connector?.handles(pathOf(req))) return await connector.handle(req, res);
      const early = route(req);
      if (early) return send(res, early);
      origin(req);
      const preflight = preflightOrCors(req, res);
      if (preflight) return send(res, preflight);
      notDraining();
      const principal = await authenticate(req);
      log(req, res, principal.key);
      const slots = admit(req, res, principal.key);
      body = await readBody(req);
      // Every request of a batch takes a slot of its own: the SDK runs a batch's requests at once.
      slots.more(requestCount(body) - 1);
      const serve = () => serveMcp(req, res, principal.key, principal.ctx, body);
      if (!needsCredentials(principal, body)) return await serve();
      await credentials(principal);
      // A Q call that meets a reused assertion before the answer's first bytes turns it into a 401.
      return await serveOrRefuseReused(res, (r) => sendError(r, reusedToken(resource), { logger }), serve);
    } catch (e) {
      sendError(res, e, { logger, body });
    }
  }
  // Attached before any connection can be read: listen's callback and this line run in one tick. Should
  // even answering fail, the connection is dropped rather than left hanging.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    observe.request(req, res, () => handle(req, res)).catch(() => res.destroy());
  });

  const displayHost = http.host.includes(':') ? `[${http.host}]` : http.host;
  const url = `http://${displayHost}:${port}${http.path}`;
  logger.info(
    { url, auth: http.auth, stateless: http.stateless, shared: !!state.shared },
    'MCP HTTP server listening',
  );

  async function close(): Promise<void> {
    if (!drain.start()) return;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const finished = await inFlight.drained(limits.shutdownGraceSeconds * 1000);
    if (!finished) logger.warn({ inFlight: inFlight.count }, 'shutdown grace period over; closing anyway');
    // Sessions and open 2026-era exchanges close before the sockets, so their streams end cleanly.
    await Promise.all([sessions.closeAll(), endpoint.close()]);
    server.closeAllConnections();
    await stopped;
    await disposeHttpState(state);
    await observe.close();
    logger.info('MCP HTTP server stopped');
  }

  return {
    url,
    port,
    server,
    stats: () => ({ sessions: sessions.size, cachedUsers: users.size, inFlight: inFlight.count }),
    metricsUrl: observe.metricsUrl,
    close,
  };
}
