/**
 * @module The sandbox's second IdP personality: an Amazon Cognito user pool (its own oidc-provider on its
 * own port). No registration endpoint, `resource` ignored, one confidential app client (secret by Basic or
 * in the body) whose callback URLs an operator adds, ID tokens with aud = that client, `token_use` and the
 * `custom:tenant` attribute, JWT access tokens without `aud` (a `client_id` claim), refresh tokens that do
 * not rotate unless the sandbox switch says so.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import { SignJWT } from 'jose';
import { findUser, type SandboxUser, type World } from '../world.js';
import { countCall, takeFault, type SandboxState } from '../state.js';
import type { IdpKeys } from '../idp/keys.js';
import { findUserBySubject, subjectOf } from '../idp/claims.js';
import { createIdpStore, type IdpStore } from '../idp/store.js';
import { createInteractions } from '../idp/interactions.js';
import { errorPage } from '../idp/pages.js';

export interface CognitoControl {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  /** Adds an allowed callback URL to the app client (what an operator does in the Cognito console). */
  addCallbackUrl(url: string): Promise<string[]>;
  callbackUrls(): string[];
  /** Revokes every grant (and so every refresh token) the user holds; returns how many. */
  revokeUser(username: string): number;
  clear(): void;
}

/** Cognito's own endpoint paths, so a client that hard-codes nothing finds them through discovery only. */
const ROUTES = {
  authorization: '/oauth2/authorize',
  token: '/oauth2/token',
  userinfo: '/oauth2/userInfo',
  revocation: '/oauth2/revoke',
  jwks: '/.well-known/jwks.json',
};
const OPERATIONS: Record<string, string> = {
  [`POST ${ROUTES.token}`]: 'cognito:token',
  [`POST ${ROUTES.revocation}`]: 'cognito:revoke',
  [`GET ${ROUTES.authorization}`]: 'cognito:authorize',
};
/** The pool's first callback URL, there before the operator adds the connector's. */
const INITIAL_CALLBACK = 'https://isv.sandbox.example/oauth/callback';
const ACCESS_TOKEN_SECONDS = 3600;

/** The ID token's claims: every readable attribute (Cognito puts them all under `openid`). */
export function cognitoClaims(world: World, user: SandboxUser): Record<string, unknown> {
  return {
    sub: subjectOf(user.username),
    'cognito:username': user.username,
    'cognito:groups': user.groups,
    email: user.email,
    email_verified: true,
    name: user.name,
    [world.cognito.tenantClaim]: user.tenant,
    token_use: 'id',
  };
}

function configuration(world: World, keys: IdpKeys, store: IdpStore, state: SandboxState): Configuration {
  const openid = Object.keys(cognitoClaims(world, world.users[0]!));
  return {
    adapter: store.adapter,
    jwks: keys.privateJwks as Configuration['jwks'],
    routes: ROUTES,
    cookies: {
      keys: [randomBytes(32).toString('base64url')],
      // Other names than the main IdP's and the connector's: cookies on 127.0.0.1 are shared across ports.
      names: { session: '_cognito_session', interaction: '_cognito_interaction', resume: '_cognito_resume' },
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    claims: { openid: [...openid, 'jti'], email: ['email', 'email_verified'], profile: ['name'] },
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const user = findUserBySubject(world, sub);
      return user
        ? { accountId: sub, claims: () => ({ ...cognitoClaims(world, user), sub, jti: randomUUID() }) }
        : undefined;
    },
    // Cognito does not demand PKCE of a confidential client (it checks it when sent).
    pkce: { required: () => false },
    // Cognito issues a refresh token for every code grant, without offline_access.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => state.switches.cognitoRotateRefreshTokens,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      registration: { enabled: false },
      resourceIndicators: { enabled: false },
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = errorPage({ ...out });
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_SECONDS,
      AuthorizationCode: 300,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: 3600,
      RefreshToken: 30 * 24 * 3600,
      Interaction: 15 * 60,
      Session: 3600,
      Grant: 30 * 24 * 3600,
    },
  };
}

export async function createCognito(deps: {
  world: World;
  keys: IdpKeys;
  state: SandboxState;
}): Promise<CognitoControl> {
  const { world, keys, state } = deps;
  const pool = world.cognito;
  const store = createIdpStore();
  const callbacks = [INITIAL_CALLBACK];
  // The app client lives in the adapter (not static config): oidc-provider re-reads it, so added callback URLs count.
  const saveClient = () =>
    store.adapter('Client').upsert(
      pool.clientId,
      {
        client_id: pool.clientId,
        client_secret: pool.clientSecret,
        client_name: 'ISV connector app client',
        application_type: 'web',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [...callbacks],
      },
      0,
    );
  await saveClient();

  const provider = new Provider(pool.issuer, configuration(world, keys, store, state));
  /** Cognito access tokens are JWTs; oidc-provider's would need an aud, so the opaque one is kept behind it. */
  const accessTokens = new Map<string, string>();
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route !== 'token' || ctx.status !== 200 || !ctx.body) return;
    const body = ctx.body as Record<string, unknown>;
    for (const k of ['id_token', 'refresh_token']) {
      if (typeof body[k] === 'string') state.issuedSecrets.add(body[k]);
    }
    if (typeof body.access_token === 'string') {
      const jwt = await accessJwt(ctx as unknown as KoaContextWithOIDC, world, keys);
      accessTokens.set(jwt, body.access_token);
      state.issuedSecrets.add(jwt);
      body.access_token = jwt;
    }
    // Without rotation Cognito's refresh answer has no refresh_token: the client keeps the one it has.
    if (
      ctx.oidc.params?.grant_type === 'refresh_token' &&
      body.refresh_token === ctx.oidc.params.refresh_token
    ) {
      delete body.refresh_token;
    }
  });
  const oidc = provider.callback();
  const interactions = createInteractions(provider, world);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://cognito').pathname;
    const operation = OPERATIONS[`${req.method} ${path}`];
    if (operation) countCall(state, operation);
    if (state.switches.idpDown) {
      res.writeHead(503, { 'content-type': 'application/json' });
      return void res.end('{"error":"temporarily_unavailable","error_description":"the IdP is down"}');
    }
    const fault = operation ? await takeFault(state, operation) : undefined;
    if (fault) {
      const [status, error] =
        fault.kind === 'throttle'
          ? [429, 'temporarily_unavailable']
          : fault.kind === 'serverError'
            ? [500, 'server_error']
            : [fault.status, fault.code];
      res.writeHead(status, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ error, error_description: 'injected fault' }));
    }
    if (path === ROUTES.userinfo) {
      const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
      const opaque = bearer && accessTokens.get(bearer);
      if (opaque) req.headers.authorization = `Bearer ${opaque}`;
    }
    if (await interactions(req, res, path)) return;
    oidc(req, res);
  };

  return {
    handler: (req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'server_error', error_description: String(err) }));
      });
    },
    async addCallbackUrl(url) {
      if (!callbacks.includes(url)) callbacks.push(url);
      await saveClient();
      return [...callbacks];
    },
    callbackUrls: () => [...callbacks],
    revokeUser: (username) => {
      const user = findUser(world, username);
      return user ? store.revokeAccount(subjectOf(user.username)) : 0;
    },
    clear: () => {
      accessTokens.clear();
      store.clear();
      void saveClient();
    },
  };
}

/** A Cognito-shaped access token: `client_id` and `token_use`, no `aud`. */
async function accessJwt(ctx: KoaContextWithOIDC, world: World, keys: IdpKeys): Promise<string> {
  const at = ctx.oidc.entities.AccessToken as
    { accountId: string; clientId: string; scope?: string; jti: string } | undefined;
  const user = at ? findUserBySubject(world, at.accountId) : undefined;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    'cognito:groups': user?.groups,
    client_id: at?.clientId,
    origin_jti: randomUUID(),
    event_id: randomUUID(),
    token_use: 'access',
    scope: at?.scope,
    auth_time: now,
    version: 2,
    username: user?.username,
  })
    .setProtectedHeader({ alg: 'RS256', kid: keys.kid })
    .setIssuer(world.cognito.issuer)
    .setSubject(at?.accountId ?? '')
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_SECONDS)
    .setJti(randomUUID())
    .sign(keys.signingKey);
}
