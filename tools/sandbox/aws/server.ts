/**
 * @module The AWS emulator's one port: sniffs each connection and serves HTTP/1.1 (STS, sso-oidc,
 * browsers) or cleartext HTTP/2 with prior knowledge (the qbusiness client), verifies SigV4, and
 * routes by the credential scope's service name.
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
} from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { World } from '../world.js';
import type { SandboxState } from '../state.js';
import type { IdpKeys } from '../idp/keys.js';
import { listen } from '../index.js';
import { authError, restJsonError } from './errors.js';
import { verifySigV4 } from './sigv4.js';
import { createStsService } from './sts.js';
import { createSsoOidcService } from './sso-oidc.js';
import { createIdcAuthorize } from './idc-authorize.js';
import { createIdcStore } from './idc-store.js';
import { createTokenVerifier } from './jwt.js';
import { createQBusinessService } from './qbusiness/index.js';
import type { EmulatorRequest, EmulatorResponse, ServiceHandler } from './types.js';

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;
/** What the client signed, as it came off the wire. */
type Wire = { rawPath: string; headers: Record<string, string> };

export interface AwsEmulator {
  url: string;
  close(): Promise<void>;
}

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export async function startAwsEmulator(deps: {
  world: World;
  state: SandboxState;
  keys: IdpKeys;
  host: string;
  port?: number;
}): Promise<AwsEmulator> {
  const { world, state, host } = deps;
  const sockets = new Set<Socket>();
  let baseUrl = '';
  const verifier = createTokenVerifier();
  const store = createIdcStore();
  const services: Record<string, ServiceHandler> = {
    sts: createStsService({ world, state, verifier }),
    'sso-oauth': createSsoOidcService({ world, state, verifier, store }),
  };
  const q = createQBusinessService(world, state);
  services['qbusiness'] = q.handler;
  const authorize = createIdcAuthorize({ world, state, store, verifier, awsUrl: () => baseUrl });
  const unsignedRoutes: Record<string, ServiceHandler> = { ...authorize.routes, ...q.unsignedRoutes };

  const route = async (req: EmulatorRequest, wire: Wire): Promise<EmulatorResponse> => {
    for (const [prefix, handler] of Object.entries(unsignedRoutes)) {
      if (req.path === prefix || req.path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) {
        return handler(req, { kind: 'anonymous' }, undefined);
      }
    }
    if (!req.headers['authorization']) {
      if (
        isStsForm(req) &&
        new URLSearchParams(req.body.toString('utf8')).get('Action') === 'AssumeRoleWithWebIdentity'
      ) {
        return services.sts!(req, { kind: 'anonymous' }, undefined);
      }
      return authError(guessService(req), 'missing', 'Request is missing Authentication Token');
    }
    const verified = await verifySigV4(world, state, { ...req, ...wire });
    if (!verified.ok)
      return authError(verified.scope?.service ?? guessService(req), verified.failure, verified.message);
    const service = services[verified.scope.service];
    if (!service) {
      return restJsonError(
        400,
        'UnknownServiceException',
        `The sandbox has no service '${verified.scope.service}'.`,
      );
    }
    return service(req, verified.caller, verified.scope);
  };

  const onRequest = (rq: AnyRequest, rs: AnyResponse) => {
    handle(rq, rs, route).catch((err: unknown) => {
      // A bug in a service must not take the emulator down: answer 500 in a neutral shape.
      console.error('[aws-emulator] internal error:', err instanceof Error ? err.stack : err);
      if (!rs.headersSent) {
        writeResponse(
          rs,
          restJsonError(500, 'InternalFailure', 'The sandbox failed to process the request.'),
          undefined,
        ).catch(() => rs.destroy());
      } else rs.destroy();
    });
  };

  const h1 = createHttp1Server({ keepAlive: true, keepAliveTimeout: 60_000 }, onRequest);
  const h2 = createHttp2Server({ settings: { maxConcurrentStreams: 1000 } }, onRequest);
  h2.on('sessionError', () => undefined);
  h1.on('clientError', (_err, socket) => socket.destroy());

  // noDelay: without it Nagle and delayed ACKs stall every small response by ~40 ms.
  const server = createNetServer({ noDelay: true, keepAlive: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    sniff(socket, (isH2) => {
      (isH2 ? h2 : h1).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  const port = await listen(server, host, deps.port);
  baseUrl = `http://${host}:${port}`;
  return {
    url: baseUrl,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Reads the first bytes, puts them back, and says whether they are the HTTP/2 client preface. */
function sniff(socket: Socket, decide: (isH2: boolean) => void): void {
  let seen = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = Buffer.concat([seen, chunk]);
    const n = Math.min(seen.length, H2_PREFACE.length);
    const isH2Prefix = seen.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
    if (isH2Prefix && seen.length < H2_PREFACE.length) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(seen);
    decide(isH2Prefix);
  };
  socket.on('data', onData);
}

function isStsForm(req: EmulatorRequest): boolean {
  return (
    req.method === 'POST' &&
    (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
  );
}

/** Which service an unsigned or unparseable request meant, for the error shape. */
function guessService(req: EmulatorRequest): string {
  if (isStsForm(req) || /^(Action|Version)=/.test(req.body.subarray(0, 16).toString('latin1'))) return 'sts';
  if (req.path === '/token') return 'sso-oauth';
  return 'qbusiness';
}

async function handle(
  rq: AnyRequest,
  rs: AnyResponse,
  route: (req: EmulatorRequest, wire: Wire) => Promise<EmulatorResponse>,
): Promise<void> {
  const controller = new AbortController();
  rs.on('close', () => {
    // writableEnded, not writableFinished: an HTTP/2 response reset by the client reports itself finished.
    if (!rs.writableEnded) controller.abort();
  });
  const url = rq.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rq.headers)) {
    if (k.startsWith(':') || v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  const authority = rq.headers[':authority'];
  const wireHeaders = typeof authority === 'string' ? { ...headers, ':authority': authority } : headers;
  if (!headers['host'] && typeof authority === 'string') headers['host'] = authority;
  const chunks: Buffer[] = [];
  for await (const chunk of rq as AsyncIterable<Buffer>) chunks.push(chunk);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  const req: EmulatorRequest = {
    method: rq.method ?? 'GET',
    path,
    query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    headers,
    body: Buffer.concat(chunks),
    httpVersion: rq.httpVersion === '2.0' ? '2.0' : '1.1',
    signal: controller.signal,
  };
  const res = await route(req, { rawPath, headers: wireHeaders });
  await writeResponse(rs, res, controller.signal);
}

async function writeResponse(rs: AnyResponse, res: EmulatorResponse, signal: AbortSignal | undefined) {
  const headers: Record<string, string> = { ...res.headers };
  const body = res.body;
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    const buf = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : body;
    headers['content-length'] = String(buf.length);
    rs.writeHead(res.status, headers);
    rs.end(buf);
    return;
  }
  rs.writeHead(res.status, headers);
  (rs as ServerResponse).flushHeaders?.();
  for await (const chunk of body) {
    if (signal?.aborted || rs.destroyed) break;
    if (!(rs as ServerResponse).write(chunk)) {
      await Promise.race([once(rs, 'drain'), once(rs, 'close')]);
    }
  }
  if (!rs.destroyed) rs.end();
}
