/**
 * @module Test helper: an https server on loopback with a throwaway test CA (made by the `openssl` CLI in
 * a temp dir), serving Client ID Metadata Documents (CIMD) the way an MCP client's host would — plus the
 * bad ones an authorization server must refuse: slow, too big, naming another client_id, an error status.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CimdOptions {
  /** Redirect URIs the document registers (required by CIMD). */
  redirectUris: string[];
  clientName?: string;
  /** The document's client_id; default the URL it is served at (anything else must be refused). */
  clientId?: string;
  /** Wait this long before answering (for the server's fetch time limit). */
  delayMs?: number;
  /** Pad the document with this many bytes (for the server's size limit). */
  padBytes?: number;
  /** Answer with this status instead of 200 (the body is still the document). */
  status?: number;
  /** Further metadata fields, or overrides (e.g. `token_endpoint_auth_method`). */
  extra?: Record<string, unknown>;
}

export interface HttpsFixture {
  /** `https://127.0.0.1:<port>` (the certificate names 127.0.0.1, ::1 and localhost). */
  origin: string;
  /** Path of the test CA's PEM: what the server under test is told to trust (`caFile`). */
  caFile: string;
  caPem: string;
  /** Serves a CIMD document at `path` (replacing any earlier one); returns its URL, the client_id. */
  serveCimd(path: string, options: CimdOptions): string;
  /** Serves any JSON (or text) at `path`. */
  serve(path: string, body: unknown, options?: { status?: number; contentType?: string }): string;
  /** How many requests `path` has had (to prove caching and negative caching). */
  hits(path: string): number;
  close(): Promise<void>;
}

type Route = (path: string) => { status: number; contentType: string; body: string; delayMs?: number };

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate for the loopback names, valid one day, in a fresh temp dir. */
export function makeTestCa(): { dir: string; caFile: string; keyFile: string; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'qindex-test-ca-'));
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=qindex-mcp throwaway test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=localhost',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost',
    ].join('\n'),
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '1',
    '-extfile',
    'server.ext',
  ]);
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    keyFile: join(dir, 'server.key'),
    certFile: join(dir, 'server.pem'),
  };
}

export async function startHttpsFixture(): Promise<HttpsFixture> {
  const ca = makeTestCa();
  const routes = new Map<string, Route>();
  const hits = new Map<string, number>();
  const server: Server = createServer(
    { key: readFileSync(ca.keyFile), cert: readFileSync(ca.certFile) },
    (req, res) => {
      const path = new URL(req.url ?? '/', 'https://fixture').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      const route = routes.get(path);
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' });
        return void res.end('{"error":"not_found"}');
      }
      const answer = route(path);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': answer.contentType, 'cache-control': 'max-age=60' });
        res.end(answer.body);
      };
      if (answer.delayMs) {
        const timer = setTimeout(send, answer.delayMs);
        res.once('close', () => clearTimeout(timer));
      } else send();
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    origin,
    caFile: ca.caFile,
    caPem: readFileSync(ca.caFile, 'utf8'),
    serveCimd(path, o) {
      const url = `${origin}${path}`;
      const doc: Record<string, unknown> = {
        client_id: o.clientId ?? url,
        client_name: o.clientName ?? 'Test MCP client',
        redirect_uris: o.redirectUris,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'none',
        ...o.extra,
      };
      if (o.padBytes) doc.padding = 'x'.repeat(o.padBytes);
      const body = JSON.stringify(doc);
      routes.set(path, () => ({
        status: o.status ?? 200,
        contentType: 'application/json',
        body,
        delayMs: o.delayMs,
      }));
      return url;
    },
    serve(path, body, options = {}) {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      routes.set(path, () => ({
        status: options.status ?? 200,
        contentType: options.contentType ?? 'application/json',
        body: text,
      }));
      return `${origin}${path}`;
    },
    hits: (path) => hits.get(path) ?? 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(ca.dir, { recursive: true, force: true });
    },
  };
}
