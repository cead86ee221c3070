/**
 * @module The sandbox IdP: oidc-provider configured with the world's users and clients, PKCE,
 * device flow, rotating refresh tokens and JWT access tokens for resource indicators, behind a
 * front door that applies the sandbox's switches, faults and call counters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import Provider, { errors, type Configuration, type ClientMetadata } from 'oidc-provider';
import { findUser, type World } from '../world.js';
import { countCall, takeFault, type SandboxState } from '../state.js';
import type { IdpKeys } from './keys.js';
import { AWS_TAGS_CLAIM, findUserBySubject, subjectOf, userClaims } from './claims.js';
import { createIdpStore } from './store.js';
import { createInteractions } from './interactions.js';
import { createIdpTokens, RESOURCE_SCOPE } from './tokens.js';
import { readBody } from './interactions.js';
import { errorPage, successPage, userCodeConfirmPage, userCodeInputPage } from './pages.js';

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Seconds a device client should wait between polls (RFC 8628 defaults to 5; the sandbox is faster). */
export const DEVICE_POLL_INTERVAL = 1;

export interface IdpControl {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** A refresh token the token endpoint accepts (a real Grant + RefreshToken, rotation on). */
  mintRefreshToken(opts: { username: string; clientId?: string; scope?: string }): Promise<string>;
  /** A JWT access token whose `aud` is `resource` (default world.mcpResource). */
  mintAccessToken(opts: { username: string; resource?: string; clientId?: string }): Promise<string>;
  /** Completes a pending device authorization as `username`; false when no such pending code. */
  approveDevice(opts: { userCode: string; username: string }): Promise<boolean>;
  /** Denies a pending device authorization (the client then gets access_denied). */
  denyDevice(opts: { userCode: string }): Promise<boolean>;
  /** Makes a pending device code expire now (the client then gets expired_token). */
  expireDevice(opts: { userCode: string }): Promise<boolean>;
  /** Revokes every grant (and so every refresh token) the user holds; returns how many. */
  revokeUser(username: string): number;
  /** Forgets every token, grant, session and interaction. */
  clear(): void;
}

const ENDPOINTS: Record<string, string> = {
  '/token': 'idp:token',
  '/device/auth': 'idp:device',
  '/token/revocation': 'idp:revoke',
};

function clientsOf(world: World): ClientMetadata[] {
  const publicNative = (clientId: string, redirectPaths: string[]): ClientMetadata => ({
    client_id: clientId,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
    response_types: ['code'],
    // RFC 8252 §7.3: for native clients oidc-provider ignores the port of a loopback redirect.
    redirect_uris: redirectPaths.flatMap((p) => [`http://127.0.0.1${p}`, `http://localhost${p}`]),
  });
  return [
    publicNative(world.clients.native, ['/callback']),
    publicNative(world.clients.isv, ['/callback', '/oauth/callback']),
    publicNative(world.clients.other, ['/callback']),
    publicNative(world.clients.idcBroker, ['/idc/callback']),
  ];
}

function configuration(world: World, keys: IdpKeys, store: ReturnType<typeof createIdpStore>): Configuration {
  return {
    adapter: store.adapter,
    clients: clientsOf(world),
    jwks: keys.privateJwks as Configuration['jwks'],
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // SameSite=None cookies need Secure, which plain-http loopback cannot give: browsers would drop them.
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    claims: {
      // jti: Cognito, Okta and Entra give every ID token its own id, so two refreshes in one second
      // still yield distinct single-use assertions (oidc-provider 9 dropped at_hash on refresh).
      openid: ['sub', 'jti', 'groups', AWS_TAGS_CLAIM],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    conformIdTokenClaims: false,
    // Account ids are the users' subjects, so JWT access tokens (sub = account id) match the ID tokens.
    findAccount: (_ctx, sub) => {
      const user = findUserBySubject(world, sub);
      return user
        ? { accountId: sub, claims: () => ({ ...userClaims(user), sub, jti: randomUUID() }) }
        : undefined;
    },
    // JWT access tokens also name the user's email, so a resource server needs no userinfo call.
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.resourceServer) return undefined;
      const user = findUserBySubject(world, token.accountId);
      return user ? { email: user.email } : undefined;
    },
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: async (ctx, form, _out, err) => {
          ctx.body = userCodeInputPage(form, err ? 'That code is not valid. Try again.' : undefined);
        },
        userCodeConfirmSource: async (ctx, form, client, _info, userCode) => {
          ctx.body = userCodeConfirmPage(form, client.clientId, userCode);
        },
        successSource: async (ctx) => {
          ctx.body = successPage(ctx.oidc.client?.clientId ?? '');
        },
      },
      resourceIndicators: {
        enabled: true,
        // No resource asked for: an opaque access token (good at userinfo) rather than a JWT.
        defaultResource: async (_ctx, _client, oneOf) => oneOf as string[],
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (!/^https?:\/\//.test(resource)) throw new errors.InvalidTarget();
          return {
            scope: RESOURCE_SCOPE,
            audience: resource,
            accessTokenTTL: 15 * 60,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = `<!DOCTYPE html><html><body>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.body = '<!DOCTYPE html><html><body><p>Signed out.</p></body></html>';
        },
      },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage({ ...out });
    },
    // Every TTL is set explicitly: oidc-provider's defaults print notices on stdout, where
    // `npm run sandbox` must print exactly one JSON line.
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 15 * 60,
      AuthorizationCode: 60,
      ClientCredentials: 10 * 60,
      DeviceCode: 10 * 60,
      BackchannelAuthenticationRequest: 10 * 60,
      IdToken: 60 * 60,
      RefreshToken: 14 * 24 * 60 * 60,
      Interaction: 15 * 60,
      Session: 60 * 60,
      Grant: 14 * 24 * 60 * 60,
    },
  };
}

export async function createIdp(deps: {
  world: World;
  keys: IdpKeys;
  state: SandboxState;
}): Promise<IdpControl> {
  const { world, keys, state } = deps;
  const store = createIdpStore({ refreshReuseGraceSeconds: () => state.switches.refreshReuseGraceSeconds });
  const provider = new Provider(world.issuer, configuration(world, keys, store));
  // The device authorization response carries no interval by default (clients assume 5 s).
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body) {
      (ctx.body as Record<string, unknown>).interval = DEVICE_POLL_INTERVAL;
    }
  });
  const oidc = provider.callback();
  const interactions = createInteractions(provider, world);
  const tokens = createIdpTokens(provider, world, store);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://idp').pathname;
    const operation = req.method === 'POST' ? ENDPOINTS[path] : undefined;
    // Counted even while the IdP is down: tests see how often a client knocked.
    if (operation) countCall(state, operation);
    if (state.switches.idpDown) {
      return sendJson(res, 503, { error: 'temporarily_unavailable', error_description: 'the IdP is down' });
    }
    const fault = operation ? await takeFault(state, operation) : undefined;
    if (fault) return sendFault(req, res, fault, state.faults.get(operation!)?.retryAfter);
    if (await interactions(req, res, path)) return;
    oidc(req, res);
  };

  return {
    handler: (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: String(err) });
        else res.destroy();
      });
    },
    ...tokens,
    revokeUser: (username) => {
      const user = findUser(world, username);
      return user ? store.revokeAccount(subjectOf(user.username)) : 0;
    },
    clear: () => store.clear(),
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

/** Answers with an armed fault in OAuth's error shape; throttling a device poll is `slow_down`. */
async function sendFault(
  req: IncomingMessage,
  res: ServerResponse,
  fault: NonNullable<Awaited<ReturnType<typeof takeFault>>>,
  retryAfter?: string,
) {
  if (fault.kind === 'serverError') {
    return sendJson(res, 500, { error: 'server_error', error_description: 'injected server error' });
  }
  if (fault.kind === 'error') {
    const busy = retryAfter && (fault.status === 429 || fault.status === 503);
    return sendJson(
      res,
      fault.status,
      { error: fault.code, error_description: fault.message },
      busy ? { 'retry-after': retryAfter } : {},
    );
  }
  const body = await readBody(req);
  if (new URLSearchParams(body).get('grant_type') === DEVICE_CODE_GRANT) {
    return sendJson(res, 400, { error: 'slow_down', error_description: 'polling too fast' });
  }
  return sendJson(
    res,
    429,
    { error: 'temporarily_unavailable', error_description: 'too many requests' },
    { 'retry-after': retryAfter ?? '1' },
  );
}
