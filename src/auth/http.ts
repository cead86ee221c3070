/**
 * @module The IdP's HTTP client: the `fetch` that discovery, openid-client and jose's JWKS use for the
 * identity provider, over node:http/https. Node 20's built-in fetch (undici) compiles its HTTP parser
 * (WebAssembly) and connection machinery on first use, and a cold start's first IdP request is that
 * first use: tens of milliseconds on the way to the first tool result. It behaves as those callers need
 * of fetch: no redirect followed (they all ask for `redirect: 'manual'`), the caller's signal (a
 * rejection with its reason, as fetch rejects), network failures as fetch's `TypeError('fetch failed')`
 * with the system error as its cause, the default CAs plus NODE_EXTRA_CA_CERTS. Anything else goes to
 * the global fetch: another redirect mode or body type, and every request once fetch was configured
 * (NODE_USE_ENV_PROXY / --use-env-proxy, or a global undici dispatcher set by a preload).
 */
import http from 'node:http';
import https from 'node:https';

/** Kept-alive sockets (as fetch does): discovery, the JWKS and the token request share one. */
const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

/** Statuses whose response has no body (the Response constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

type FetchInput = string | URL;

export const idpFetch = (input: FetchInput, init: RequestInit = {}): Promise<Response> =>
  proxied() ? fetch(input, init) : nodeFetch(input, init);

/** The request over node:http/https (what it cannot do as fetch would goes to the global fetch). */
export async function nodeFetch(input: FetchInput, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof URL ? input.href : input);
  const body = requestBody(init.body);
  const protocol = url.protocol as keyof typeof agents;
  if (body === false || !(protocol in agents) || init.redirect !== 'manual') return fetch(input, init);
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  const headers = requestHeaders(init.headers, body);
  return new Promise<Response>((resolve, reject) => {
    const request = (protocol === 'https:' ? https : http).request(url, {
      method: init.method ?? 'GET',
      headers,
      agent: agents[protocol],
    });
    const abort = () => {
      reject(signal!.reason);
      request.destroy();
    };
    signal?.addEventListener('abort', abort, { once: true });
    const done = () => signal?.removeEventListener('abort', abort);
    request.on('error', (e) => {
      done();
      reject(new TypeError('fetch failed', { cause: e }));
    });
    request.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', (e) => {
        done();
        reject(new TypeError('fetch failed', { cause: e }));
      });
      res.on('end', () => {
        done();
        const status = res.statusCode ?? 0;
        try {
          resolve(
            new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), {
              status,
              statusText: res.statusMessage ?? '',
              headers: pairs(res.rawHeaders),
            }),
          );
        } catch (e) {
          reject(new TypeError('fetch failed', { cause: e }));
        }
      });
    });
    request.end(body?.text);
  });
}

interface Body {
  text: string;
  /** The content type fetch gives this kind of body when the caller names none. */
  type: string;
}

/** The body as it goes on the wire; undefined for none; false for a kind left to the global fetch. */
function requestBody(body: RequestInit['body']): Body | undefined | false {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return { text: body, type: 'text/plain;charset=UTF-8' };
  if (body instanceof URLSearchParams)
    return { text: body.toString(), type: 'application/x-www-form-urlencoded;charset=UTF-8' };
  return false;
}

/** The caller's headers (a Headers, pairs or a record), and what fetch adds for a body. */
function requestHeaders(init: RequestInit['headers'], body: Body | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (name: string, value: string) => {
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]}, ${value}` : value;
  };
  if (Array.isArray(init)) for (const [name, value] of init) add(name!, value!);
  else if (init && typeof (init as Headers).forEach === 'function')
    (init as Headers).forEach((value, name) => add(name, value));
  else if (init) for (const [name, value] of Object.entries(init)) add(name, value);
  out.accept ??= '*/*';
  if (body !== undefined) {
    out['content-length'] = String(Buffer.byteLength(body.text));
    out['content-type'] ??= body.type;
  }
  return out;
}

function pairs(raw: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/**
 * Decided at the first IdP request, once: the global fetch was given a proxy (Node 22.21+/24's env
 * proxy) or a dispatcher (a preload's undici `setGlobalDispatcher`, a ProxyAgent or a CA of its own).
 * Undici sets its default dispatcher itself when it loads (a `Headers` or `Response` is enough), so only
 * what is there before this client's first request can be somebody's configuration.
 */
let globalFetchConfigured: boolean | undefined;

function proxied(): boolean {
  globalFetchConfigured ??= fetchConfigured();
  return globalFetchConfigured;
}

function fetchConfigured(): boolean {
  const env = process.env.NODE_USE_ENV_PROXY;
  if (env && env !== '0') return true;
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--use-env-proxy')))
    return true;
  return (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')] !== undefined;
}
