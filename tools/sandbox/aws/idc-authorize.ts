/**
 * @module The emulated IAM Identity Center browser endpoints (design 2c): `/authorize` sends the
 * browser through the sandbox IdP (as the `aws-identity-center` client, with its own PKCE), and
 * `/idc/callback` turns the IdP's answer into a one-time IdC code on the caller's redirect URI.
 */
import { createHash, randomBytes } from 'node:crypto';
import { countCall, takeFault, type SandboxState } from '../state.js';
import { findIdcApplication, findUserByEmail, type IdcApplication, type World } from '../world.js';
import { opaqueToken, takeOnce, type IdcStore } from './idc-store.js';
import type { TokenVerifier } from './jwt.js';
import type { EmulatorRequest, EmulatorResponse, ServiceHandler } from './types.js';

const PENDING_MS = 10 * 60_000;
const CODE_MS = 5 * 60_000;

interface Deps {
  world: World;
  state: SandboxState;
  store: IdcStore;
  verifier: TokenVerifier;
  /** The emulator's own base URL (known once it listens). */
  awsUrl: () => string;
}

const escapeHtml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(status: number, title: string, detail: string): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!DOCTYPE html><html><head><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p></body></html>`,
  };
}

const redirect = (location: string): EmulatorResponse => ({
  status: 302,
  headers: { location, 'cache-control': 'no-store' },
});

function withParams(uri: string, params: Record<string, string | undefined>): string {
  const url = new URL(uri);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

/** Whether `uri` is registered for the application (`loopback:any`: any port on 127.0.0.1 or localhost, over http). */
export function redirectAllowed(app: IdcApplication, uri: string): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  return app.redirectUris.some((r) =>
    r === 'loopback:any'
      ? url.protocol === 'http:' &&
        (url.hostname === '127.0.0.1' || url.hostname === 'localhost') &&
        !url.hash
      : r === uri,
  );
}

export function createIdcAuthorize(deps: Deps): { routes: Record<string, ServiceHandler> } {
  let endpoints: Promise<{ authorization_endpoint: string; token_endpoint: string }> | undefined;
  const discover = () => {
    endpoints ??= fetch(`${deps.world.issuer}/.well-known/openid-configuration`, {
      signal: AbortSignal.timeout(5000),
    })
      .then(async (r) => {
        if (!r.ok) throw new Error(`IdP discovery answered ${r.status}`);
        return (await r.json()) as { authorization_endpoint: string; token_endpoint: string };
      })
      .catch((err: unknown) => {
        endpoints = undefined;
        throw err;
      });
    return endpoints;
  };
  const callbackUrl = () => `${deps.awsUrl()}/idc/callback`;

  const authorize = async (req: EmulatorRequest): Promise<EmulatorResponse> => {
    if (req.method !== 'GET') return page(405, 'Method not allowed', 'Use GET for /authorize.');
    const q = req.query;
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const app = findIdcApplication(deps.world, clientId);
    if (!app)
      return page(
        400,
        'invalid_client',
        'client_id is not an application of this IAM Identity Center instance.',
      );
    if (!app.grants.includes('authorization_code')) {
      return page(
        400,
        'unauthorized_client',
        'The application is not configured for the authorization_code grant.',
      );
    }
    // Never redirect to an unregistered URI: the error is shown here instead.
    if (!redirectAllowed(app, redirectUri))
      return page(400, 'invalid_redirect_uri', 'redirect_uri is not registered for this application.');
    const callerState = q.get('state') ?? undefined;
    const fail = (error: string, description: string) =>
      redirect(withParams(redirectUri, { error, error_description: description, state: callerState }));
    if (q.get('response_type') !== 'code')
      return fail('unsupported_response_type', 'response_type must be code.');
    const challenge = q.get('code_challenge') ?? undefined;
    const method = q.get('code_challenge_method') ?? (challenge ? 'plain' : undefined);
    if (challenge && method !== 'S256' && method !== 'plain')
      return fail('invalid_request', 'code_challenge_method must be S256.');
    countCall(deps.state, 'idc:authorize');
    const armed = await takeFault(deps.state, 'idc:authorize');
    if (armed?.kind === 'throttle') return page(429, 'Too many requests', 'Rate exceeded.');
    if (armed) return page(500, 'Internal error', 'The sandbox was told to fail this call.');
    let idp;
    try {
      idp = await discover();
    } catch {
      return page(
        502,
        'Identity provider unavailable',
        'The external identity provider could not be reached.',
      );
    }
    const pendingId = opaqueToken('', 24);
    const idpVerifier = randomBytes(32).toString('base64url');
    const scopes = (q.get('scopes') ?? q.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
    deps.store.pending.set(pendingId, {
      clientId: app.arn,
      redirectUri,
      callerState,
      codeChallenge: challenge,
      codeChallengeMethod: method,
      scopes,
      idpVerifier,
      expiresAt: Date.now() + PENDING_MS,
    });
    return redirect(
      withParams(idp.authorization_endpoint, {
        client_id: deps.world.clients.idcBroker,
        response_type: 'code',
        scope: 'openid email',
        redirect_uri: callbackUrl(),
        state: pendingId,
        code_challenge: createHash('sha256').update(idpVerifier).digest('base64url'),
        code_challenge_method: 'S256',
      }),
    );
  };

  const callback = async (req: EmulatorRequest): Promise<EmulatorResponse> => {
    const pending = takeOnce(deps.store.pending, req.query.get('state') ?? '');
    if (!pending)
      return page(400, 'invalid_request', 'Unknown or expired sign-in: start again from /authorize.');
    const back = (params: Record<string, string | undefined>) =>
      redirect(withParams(pending.redirectUri, { ...params, state: pending.callerState }));
    const idpError = req.query.get('error');
    if (idpError)
      return back({
        error: 'access_denied',
        error_description: `The identity provider answered ${idpError}.`,
      });
    const email = await exchangeAtIdp(req.query.get('code') ?? '', pending.idpVerifier);
    if (!email)
      return back({
        error: 'server_error',
        error_description: 'Could not complete sign-in at the identity provider.',
      });
    const user = findUserByEmail(deps.world, email);
    if (!user?.inIdentityCenter) {
      return back({
        error: 'access_denied',
        error_description: 'No user in the IAM Identity Center directory has this email.',
      });
    }
    const code = opaqueToken('idccode', 24);
    deps.store.codes.set(code, {
      clientId: pending.clientId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      codeChallengeMethod: pending.codeChallengeMethod,
      scopes: pending.scopes,
      email: user.email,
      expiresAt: Date.now() + CODE_MS,
    });
    return back({ code });
  };

  /** The IdP's code → a verified ID token → its email; undefined when anything fails. */
  const exchangeAtIdp = async (code: string, verifier: string): Promise<string | undefined> => {
    try {
      const idp = await discover();
      const res = await fetch(idp.token_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: callbackUrl(),
          client_id: deps.world.clients.idcBroker,
          code_verifier: verifier,
        }),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) return undefined;
      const { id_token } = (await res.json()) as { id_token?: string };
      if (!id_token) return undefined;
      const claims = await deps.verifier.verify(id_token, deps.world.issuer);
      return typeof claims['email'] === 'string' ? claims['email'] : undefined;
    } catch {
      return undefined;
    }
  };

  return {
    routes: {
      '/authorize': (req) => authorize(req),
      '/idc/callback': (req) => callback(req),
    },
  };
}
