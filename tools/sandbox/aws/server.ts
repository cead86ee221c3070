/**
 * @module The AWS emulator's one port: sniffs each connection and serves HTTP/1.1 (STS, sso-oidc,
 * browsers) or cleartext HTTP/2 with prior knowledge (the qbusiness client), verifies SigV4, and
 * routes by the credential scope's service name.
 */
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type IncomingHttpHeaders,
  type Http2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Readable } from 'node:stream';
import { createServer as createNetServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { World } from '../world.js';
import { countCall, type SandboxState } from '../state.js';
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

  const onExchange = (ex: Exchange) => {
    handle(ex, route).catch((err: unknown) => {
      // A stream that throws after its headers went out is cut (that is how a service drops a stream).
      if (ex.sink.headersSent()) return ex.sink.destroy();
      // A bug in a service must not take the emulator down: answer 500 in a neutral shape.
      console.error('[aws-emulator] internal error:', err instanceof Error ? err.stack : err);
      writeResponse(
        ex.sink,
        restJsonError(500, 'InternalFailure', 'The sandbox failed to process the request.'),
        undefined,
      ).catch(() => ex.sink.destroy());
    });
  };

  const h1 = createHttp1Server({ keepAlive: true, keepAliveTimeout: 60_000 }, (rq, rs) =>
    onExchange(http1Exchange(rq, rs)),
  );
  // The stream API, not the compat layer: the qbusiness client opens a fresh session per call, so this is hot.
  const h2 = createHttp2Server({ settings: { maxConcurrentStreams: 1000 } });
  h2.on('stream', (stream, headers) => {
    notePeerWindow(state, stream.session);
    onExchange(http2Exchange(stream, headers));
  });
  h2.on('sessionError', () => undefined);
  // Counted: clients should reuse their HTTP/2 connections (streamed chats included).
  h2.on('session', () => countCall(state, 'aws:http2-sessions'));
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
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    seen = seen.length ? Buffer.concat([seen, chunk]) : chunk;
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
  if (req.path.startsWith('/applications')) return 'qbusiness';
  if (req.path === '/token') return 'sso-oauth';
  return 'sts';
}

/** One request/response, whichever protocol carried it. */
interface Exchange {
  method: string;
  url: string;
  /** Lower-cased; pseudo-headers other than `:authority` removed. */
  headers: Record<string, string>;
  httpVersion: '1.1' | '2.0';
  body: Readable;
  sink: Sink;
}

/** Where a response goes: an HTTP/1.1 ServerResponse or an HTTP/2 stream. */
interface Sink {
  head(status: number, headers: Record<string, string>, endStream: boolean): void;
  write(chunk: Uint8Array): boolean;
  end(chunk?: Buffer): void;
  headersSent(): boolean;
  gone(): boolean;
  destroy(): void;
  /** Resolves on 'drain' or 'close'. */
  drained(): Promise<unknown>;
  onClose(cb: () => void): void;
}

// Errors on a request that the client abandoned are expected: they must not become uncaught exceptions.
const ignore = () => undefined;

function http1Exchange(rq: IncomingMessage, rs: ServerResponse): Exchange {
  rq.on('error', ignore);
  rs.on('error', ignore);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(rq.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return {
    method: rq.method ?? 'GET',
    url: rq.url ?? '/',
    headers,
    httpVersion: '1.1',
    body: rq,
    sink: {
      head: (status, h) => {
        rs.writeHead(status, h);
      },
      write: (chunk) => rs.write(chunk),
      end: (chunk) => (chunk ? rs.end(chunk) : rs.end()),
      headersSent: () => rs.headersSent,
      gone: () => rs.destroyed,
      destroy: () => rs.destroy(),
      drained: () => Promise.race([once(rs, 'drain'), once(rs, 'close')]),
      onClose: (cb) => rs.on('close', cb),
    },
  };
}

function http2Exchange(stream: ServerHttp2Stream, raw: IncomingHttpHeaders): Exchange {
  stream.on('error', ignore);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === undefined || (k.startsWith(':') && k !== ':authority')) continue;
    headers[k] = Array.isArray(v) ? v.join(',') : v;
  }
  let sent = false;
  return {
    method: String(raw[':method'] ?? 'GET'),
    url: String(raw[':path'] ?? '/'),
    headers,
    httpVersion: '2.0',
    body: stream,
    sink: {
      head: (status, h, endStream) => {
        sent = true;
        const out: Record<string, string | number> = { ':status': status };
        for (const [k, v] of Object.entries(h)) out[k.toLowerCase()] = v;
        stream.respond(out, { endStream });
      },
      write: (chunk) => stream.write(chunk),
      end: (chunk) => (chunk ? stream.end(chunk) : stream.end()),
      headersSent: () => sent || stream.headersSent,
      gone: () => stream.destroyed || stream.closed,
      destroy: () => stream.destroy(),
      drained: () => Promise.race([once(stream, 'drain'), once(stream, 'close')]),
      onClose: (cb) => stream.on('close', cb),
    },
  };
}

function readBody(body: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on('data', (c: Buffer) => chunks.push(c));
    let ended = false;
    body.on('end', () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    body.on('error', reject);
    body.on('aborted', () => reject(new Error('request aborted')));
    body.on('close', () => ended || reject(new Error('request closed before its end')));
  });
}

async function handle(ex: Exchange, route: (req: EmulatorRequest, wire: Wire) => Promise<EmulatorResponse>) {
  const controller = new AbortController();
  let completed = false;
  ex.sink.onClose(() => {
    if (!completed) controller.abort();
  });
  const { url } = ex;
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const wireHeaders = ex.headers;
  const headers = { ...wireHeaders };
  const authority = headers[':authority'];
  if (authority !== undefined) {
    delete headers[':authority'];
    headers['host'] ??= authority;
  }
  let body: Buffer;
  try {
    body = await readBody(ex.body);
  } catch {
    return; // the client went away mid-request
  }
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    path = rawPath;
  }
  const req: EmulatorRequest = {
    method: ex.method,
    path,
    rawPath,
    query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
    headers,
    body,
    httpVersion: ex.httpVersion,
    signal: controller.signal,
  };
  const res = await route(req, { rawPath, headers: wireHeaders });
  if (ex.sink.gone()) return;
  await writeResponse(ex.sink, res, controller.signal);
  completed = true;
}

async function writeResponse(sink: Sink, res: EmulatorResponse, signal: AbortSignal | undefined) {
  const headers: Record<string, string> = { ...res.headers };
  const body = res.body;
  if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
    const buf = body === undefined ? Buffer.alloc(0) : typeof body === 'string' ? Buffer.from(body) : body;
    headers['content-length'] = String(buf.length);
    sink.head(res.status, headers, buf.length === 0);
    if (buf.length) sink.end(buf);
    else sink.end();
    return;
  }
  sink.head(res.status, headers, false);
  for await (const chunk of body) {
    if (signal?.aborted || sink.gone()) break;
    if (!sink.write(chunk)) await sink.drained();
  }
  if (!sink.gone()) sink.end();
}

/**
 * Recorded as a gauge: the widest connection-level window a client has granted, read as each stream
 * starts. RFC 9113 opens it at 64 KiB, which stalls many concurrent answers on one session.
 */
function notePeerWindow(state: SandboxState, session: Http2Session | undefined): void {
  const granted = session?.state.remoteWindowSize ?? 0;
  if (granted > (state.counters.get(PEER_WINDOW) ?? 0)) state.counters.set(PEER_WINDOW, granted);
}
const PEER_WINDOW = 'aws:http2-peer-window-max';
