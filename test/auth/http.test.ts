/**
 * The IdP's HTTP client (src/auth/http.ts) answers as the global fetch does for what sign-in asks of it:
 * status, headers and body; a redirect handed back, not followed; the form body and its type; the
 * caller's abort as the rejection; a refused connection as `TypeError('fetch failed')` with its code.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeFetch as idpFetch } from '../../src/auth/http.js';
import { networkCode } from '../../src/auth/network.js';

let server: Server;
let base: string;
const seen: Array<{ method?: string; url?: string; headers: IncomingMessage['headers']; body: string }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === '/moved') {
        res.writeHead(302, { location: '/elsewhere' }).end();
      } else if (req.url === '/hang') {
        // Never answers: the caller's signal ends it.
      } else if (req.url === '/empty') {
        res.writeHead(204).end();
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'x-one': 'a' });
        res.end(JSON.stringify({ ok: true }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

// The node:http path itself: idpFetch picks it or the global fetch once per process.
describe('idpFetch over node:http', () => {
  it('answers a GET with the status, headers and JSON body, sending the caller headers', async () => {
    const response = await idpFetch(`${base}/doc`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
    });
    expect(response).toBeInstanceOf(Response);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-one')).toBe('a');
    await expect(response.json()).resolves.toEqual({ ok: true });
    expect(seen.at(-1)).toMatchObject({
      method: 'GET',
      url: '/doc',
      headers: { accept: 'application/json' },
    });
  });

  it('posts a form body with the type fetch gives it, and a Headers instance as given', async () => {
    const headers = new Headers({ authorization: 'Basic eDp5' });
    const response = await idpFetch(`${base}/token`, {
      method: 'POST',
      headers,
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'r' }),
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({
      method: 'POST',
      body: 'grant_type=refresh_token&refresh_token=r',
      headers: {
        authorization: 'Basic eDp5',
        'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      },
    });
  });

  it('hands a redirect back without following it, and a 204 without a body', async () => {
    const moved = await idpFetch(`${base}/moved`, { redirect: 'manual' });
    expect(moved.status).toBe(302);
    expect(moved.headers.get('location')).toBe('/elsewhere');
    expect(seen.some((s) => s.url === '/elsewhere')).toBe(false);
    const empty = await idpFetch(`${base}/empty`, { redirect: 'manual' });
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it("rejects with the signal's reason when the caller aborts, before or during the request", async () => {
    const before = AbortSignal.abort(new DOMException('gone', 'AbortError'));
    await expect(idpFetch(`${base}/doc`, { redirect: 'manual', signal: before })).rejects.toBe(before.reason);
    const controller = new AbortController();
    const pending = idpFetch(`${base}/hang`, { redirect: 'manual', signal: controller.signal });
    while (!seen.some((s) => s.url === '/hang')) await new Promise((r) => setTimeout(r, 10));
    const reason = new DOMException('timed out', 'TimeoutError');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
  });

  it('reports a refused connection as fetch does: TypeError "fetch failed" caused by ECONNREFUSED', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const error = await idpFetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe('fetch failed');
    expect(networkCode(error)).toBe('ECONNREFUSED');
  });
});
