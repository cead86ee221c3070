/**
 * @module Test helper: a browser without a browser for the connector's sign-in. It follows redirects, keeps
 * cookies per origin, fills the IdP's login form and answers the consent page, and returns the parameters
 * the MCP client's redirect URI receives (with the PKCE verifier it used).
 */
import { createHash, randomBytes } from 'node:crypto';

export interface FetchSignIn {
  /** The authorization server's origin. */
  origin: string;
  clientId: string;
  redirectUri: string;
  resource: string;
  user: { username: string; password: string };
  consent?: 'allow' | 'deny';
  /** Gets the HTML of every consent page shown. */
  sawConsent?: string[];
}

export async function signInByFetch(o: FetchSignIn): Promise<{ params: URLSearchParams; verifier: string }> {
  const jar = new Map<string, Map<string, string>>();
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${o.origin}/oauth/authorize`);
  const query = {
    response_type: 'code',
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: 'st',
    resource: o.resource,
  };
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  let next: { url: URL; init?: RequestInit } = { url };
  for (let step = 0; step < 20; step++) {
    const cookies = jar.get(next.url.origin) ?? new Map<string, string>();
    const res = await fetch(next.url, {
      ...next.init,
      redirect: 'manual',
      headers: {
        ...(next.init?.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    jar.set(next.url.origin, cookies);
    const location = res.headers.get('location');
    if (location) {
      const to = new URL(location, next.url);
      if (to.origin + to.pathname === o.redirectUri) {
        if (to.searchParams.get('error') && o.consent !== 'deny') throw new Error(`refused: ${to.search}`);
        return { params: to.searchParams, verifier };
      }
      next = { url: to };
      continue;
    }
    const html = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    if (!action) throw new Error(`stuck at ${next.url.href} (${res.status}): ${html.slice(0, 300)}`);
    const post = (body: Record<string, string>) => ({
      url: new URL(action, next.url),
      init: {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body).toString(),
      },
    });
    if (html.includes('id="allow"')) {
      o.sawConsent?.push(html);
      next = post({ decision: o.consent ?? 'allow' });
    } else next = post({ login: o.user.username, password: o.user.password });
  }
  throw new Error('too many sign-in steps');
}
