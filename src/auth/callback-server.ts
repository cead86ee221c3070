/**
 * @module The one-shot loopback server that receives the browser's redirect after sign-in: 127.0.0.1 only,
 * a free port unless one is configured, the first request to the callback path decides, and the port is
 * closed afterwards whatever happened.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError } from '../errors.js';

export interface CallbackServer {
  redirectUri: string;
  port: number;
  /** Resolves with the first request to the callback path; the handler answers it later with `respond`. */
  next: Promise<{ url: URL; respond(status: number, html: string): void }>;
  close(): Promise<void>;
}

export async function startCallbackServer(
  port: number,
  path: string,
  options: { offerDevice?: boolean } = {},
): Promise<CallbackServer> {
  // IAM Identity Center's login has no device alternative to suggest.
  const device =
    options.offerDevice === false ? '' : `, or use \`${commandLine('login', { device: true })}\``;
  let deliver!: (v: { url: URL; respond(status: number, html: string): void }) => void;
  const next = new Promise<{ url: URL; respond(status: number, html: string): void }>((r) => (deliver = r));
  let taken = false;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (req.method !== 'GET' || url.pathname !== path || taken) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
      return;
    }
    taken = true;
    deliver({
      url,
      respond: (status, html) => {
        res
          .writeHead(status, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            connection: 'close',
          })
          .end(html);
      },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') {
        reject(
          new QindexError(
            ErrorCode.PortInUse,
            `Port ${port} on 127.0.0.1 is already in use, so the sign-in callback cannot listen there.`,
            {
              remedy: `Stop the program using port ${port} (e.g. \`lsof -i :${port}\`), or set idp.redirectPort to another port registered at the IdP (0 picks a free one)${device}.`,
              cause: e,
            },
          ),
        );
      } else
        reject(
          new QindexError(
            ErrorCode.CallbackListenFailed,
            `Cannot listen on 127.0.0.1:${port} for the sign-in callback (${e.code}).`,
            { cause: e },
          ),
        );
    });
    server.listen(port, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://127.0.0.1:${port}${path}`,
    port,
    next,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Let the answer to the browser flush, then drop keep-alive sockets so the port is really free.
        setTimeout(() => server.closeAllConnections(), 200).unref();
      }),
  };
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head><body style="font-family:system-ui,sans-serif;max-width:40em;margin:4em auto"><h1>${escape(title)}</h1><p>${escape(body)}</p></body></html>`;
}
