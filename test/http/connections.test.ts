/**
 * Connections cannot pile up: a socket that never sends a byte, one that trickles its body, and an idle
 * keep-alive connection are all closed (asserted on the close event, with the server's configured
 * timeouts checked as values), node checks those timeouts often enough for the documented figures to
 * hold, connections over the cap are turned away while earlier ones are unaffected, and a burst of
 * connections past Node's default listen backlog completes while the server is too busy to accept.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { connect as connectSocket, type Socket } from 'node:net';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { bearerConfig, startBearerServer } from './harness.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const servers: HttpServerHandle[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(limits: Record<string, unknown>): Promise<HttpServerHandle> {
  const server = await startBearerServer(
    sandbox(),
    bearerConfig(sandbox(), 'data-accessor', { http: { limits } }),
  );
  servers.push(server);
  return server;
}

interface Probe {
  socket: Socket;
  received: () => string;
  /** True once the server closed the connection; false if it was still open after `guardMs`. */
  closed: Promise<boolean>;
}

/** A raw TCP client that reads everything (so it sees the server's FIN) and reports the close. */
function probe(server: HttpServerHandle, guardMs = 20_000): Promise<Probe> {
  const socket = connectSocket(server.port, '127.0.0.1');
  sockets.push(socket);
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<boolean>((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), guardMs).unref();
  });
  return new Promise((resolve) =>
    socket.once('connect', () => resolve({ socket, received: () => received, closed })),
  );
}

async function until(ok: () => boolean): Promise<void> {
  while (!ok()) await new Promise((r) => setTimeout(r, 10));
}

async function untilConnections(server: HttpServerHandle, ok: (n: number) => boolean): Promise<void> {
  const count = () =>
    new Promise<number>((resolve, reject) =>
      server.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
    );
  while (!ok(await count())) await new Promise((r) => setTimeout(r, 10));
}

describe('HTTP transport, connection limits', () => {
  it('checks the receive timeouts at least every second, so the documented figures hold', async () => {
    const server = await start({});
    // The documented defaults: 120 s for a request, 30 s for its headers, 5 s idle between requests.
    expect(server.server.requestTimeout).toBe(120_000);
    expect(server.server.headersTimeout).toBe(30_000);
    expect(server.server.keepAliveTimeout).toBe(5_000);
    expect(server.server.maxConnections).toBe(10_000);
    // Node enforces the two receive timeouts only when it checks (30 s by default: 120 s became 150 s).
    // (@types/node 20 does not declare the property node 20 has.)
    const checking = (server.server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval;
    expect(checking).toBeLessThanOrEqual(1_000);
  });

  it('closes a connection that never sends a byte', async () => {
    const server = await start({ headersTimeoutSeconds: 1, requestTimeoutSeconds: 2 });
    expect(server.server.headersTimeout).toBe(1_000);
    const silent = await probe(server);
    expect(await silent.closed, 'the server kept a silent connection open').toBe(true);
  });

  it('cuts an authenticated request whose body trickles in, and frees its request slot', async () => {
    const server = await start({ headersTimeoutSeconds: 1, requestTimeoutSeconds: 2 });
    expect(server.server.requestTimeout).toBe(2_000);
    const t = await control().mintAccessToken({
      username: 'alice',
      clientId: sandbox().description.clients.isv,
    });
    const slow = await probe(server);
    slow.socket.write(
      `POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${t}\r\n` +
        'Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n' +
        'Content-Length: 100000\r\n\r\n{"a":',
    );
    const drip = setInterval(() => slow.socket.write(' '), 100);
    const wasClosed = await slow.closed;
    clearInterval(drip);
    expect(wasClosed, 'the server kept a trickling request open').toBe(true);
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
    // The server lets go of the request too (its close may trail the client's by a tick).
    await until(() => server.stats().inFlight === 0);
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutSeconds', async () => {
    const server = await start({ keepAliveTimeoutSeconds: 1 });
    expect(server.server.keepAliveTimeout).toBe(1_000);
    const idle = await probe(server);
    idle.socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\n\r\n`);
    expect(await idle.closed, 'the server kept an idle keep-alive connection open').toBe(true);
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200[\s\S]*Keep-Alive: timeout=1/i);
  });

  it('turns away connections over maxConnections and serves again once they are gone', async () => {
    const server = await start({ maxConnections: 2 });
    const held = [await probe(server), await probe(server)];
    await untilConnections(server, (n) => n === 2);
    const extra = await probe(server);
    expect(await extra.closed, 'a connection over the cap was kept').toBe(true);
    expect(extra.received()).toBe('');
    // The held connections were not affected: they still get answers.
    held[0]!.socket.write(
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`,
    );
    expect(await held[0]!.closed).toBe(true);
    expect(held[0]!.received()).toMatch(/^HTTP\/1\.1 200/);
    held[1]!.socket.destroy();
    await untilConnections(server, (n) => n === 0);
    const health = await fetch(new URL('/healthz', server.url));
    expect(health.status).toBe(200);
  });

  it('completes a burst of connections past the default backlog while the server is busy', async () => {
    const server = await start({});
    // Another process connects BURST sockets at once while this one (the server's) blocks its event
    // loop, so nothing is accepted: only the kernel's accept queue holds them. Node's default backlog
    // (511) drops the SYNs past it, and those connects wait for TCP's first retry, a second later.
    const BURST = 700;
    const burst = spawn(
      process.execPath,
      [
        '-e',
        `const net = require('node:net');
         process.stdin.once('data', () => {
           const sockets = []; let connected = 0;
           for (let i = 0; i < ${BURST}; i++) {
             const s = net.connect(${server.port}, '127.0.0.1', () => connected++);
             s.on('error', () => undefined);
             sockets.push(s);
           }
           setTimeout(() => { console.log(connected); for (const s of sockets) s.destroy(); process.exit(0); }, 700);
         });
         console.log('ready');`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: burst.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
    burst.stdin!.write('go\n');
    const until = Date.now() + 1_200;
    while (Date.now() < until); // busy: no accept() until the burst has been counted
    const connected = Number((await lines.next()).value);
    // Linux caps a listen backlog at net.core.somaxconn (4096 since 5.4) and queues one more than it.
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const expected = Math.min(BURST, somaxconn + 1);
    expect(connected, 'connects that waited for a SYN retry: the backlog was too short').toBe(expected);
    const health = await fetch(new URL('/healthz', server.url));
    expect(health.status).toBe(200);
  });
});
