/**
 * @module The connector's authorization server: oidc-provider configured for MCP clients — pre-registered,
 * CIMD (its built-in Client ID Metadata Documents, SSRF-checked by cimd.ts) and DCR per policy; code + PKCE
 * S256 only; `resource` must be this server (JWT access tokens with aud = resource, bound to client, user,
 * tenant and grant); rotating refresh tokens with reuse detection; revocation; RFC 9207 iss. Every TTL and
 * default that would print a notice on stdout is set, and errors answer in the OAuth JSON shape.
 */
import Provider, {
  errors,
  interactionPolicy,
  type ClientMetadata,
  type Configuration,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { HttpConfig } from '../../config/http.js';
import { isLoopback } from '../../config/loopback.js';
import { kvAdapter } from './adapter.js';
import { cimdFetch, cimdFetchAllowed } from './cimd.js';
import type { Grants } from './grants.js';
import type { ServerKeys } from './keys.js';
import type { Kv } from './store.js';

export const INTERACTION_PREFIX = '/oauth/interaction/';
/** The one scope of this resource server: search the Q index as the signed-in user. */
export const RESOURCE_SCOPE = 'mcp';

export interface ProviderOptions {
  issuer: string;
  resource: string;
  http: HttpConfig;
  kv: Kv;
  keys: ServerKeys;
  grants: Grants;
  /** Initial access token of registration policy "token" (config or QINDEX_OAUTH_REGISTRATION_TOKEN). */
  registrationToken: string | undefined;
}

/** A configured client as oidc-provider metadata; loopback redirects make it "native" (any port, RFC 8252). */
export function configuredClient(c: HttpConfig['oauth']['clients'][number]): ClientMetadata {
  const native = c.redirectUris.every((u) => {
    const url = new URL(u);
    return url.protocol !== 'https:' && (url.protocol !== 'http:' || isLoopback(url.hostname));
  });
  return {
    client_id: c.clientId,
    ...(c.clientSecret
      ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_basic' }
      : { token_endpoint_auth_method: 'none' }),
    client_name: c.name,
    redirect_uris: c.redirectUris,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    application_type: native ? 'native' : 'web',
  };
}

/**
 * oidc-provider's prompts, stricter: every authorization signs in at the upstream IdP anew (so each grant of
 * ours holds its own upstream refresh token) and ends at our consent step (which may answer from a
 * remembered consent), never at a grant or browser session left from before.
 */
function policy() {
  const { Check } = interactionPolicy;
  const prompts = interactionPolicy.base();
  prompts
    .get('login')!
    .checks.add(
      new Check('upstream_sign_in', 'each authorization signs in at the identity provider', (ctx) =>
        ctx.oidc.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT,
      ),
    );
  prompts
    .get('consent')!
    .checks.add(
      new Check('connector_consent', 'each authorization passes the consent step', (ctx) =>
        ctx.oidc.result?.consent?.grantId ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT,
      ),
    );
  return prompts;
}

export function createProvider(o: ProviderOptions): Provider {
  const { http } = o;
  const oauth = http.oauth;
  const cimd = oauth.clientIdMetadataDocuments;
  const days = (n: number) => n * 24 * 60 * 60;
  const configuration: Configuration = {
    adapter: kvAdapter(o.kv),
    clients: oauth.clients.map(configuredClient),
    jwks: o.keys.jwks as Configuration['jwks'],
    cookies: {
      keys: o.keys.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    routes: {
      authorization: '/oauth/authorize',
      token: '/oauth/token',
      registration: '/oauth/register',
      revocation: '/oauth/revoke',
      jwks: '/oauth/jwks',
      userinfo: '/oauth/userinfo',
      end_session: '/oauth/logout',
      pushed_authorization_request: '/oauth/par',
      introspection: '/oauth/introspect',
      code_verification: '/oauth/device',
      device_authorization: '/oauth/device/auth',
      backchannel_authentication: '/oauth/backchannel',
    },
    scopes: ['openid', 'offline_access'],
    claims: { openid: ['sub'] },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    clientDefaults: {
      // MCP clients are native apps or servers: "native" takes loopback redirects on any port (RFC 8252
      // §7.3) and custom schemes as well as https; a client may still register as "web".
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'RS256',
    },
    // Accounts are the upstream IdP's users (sub); what we know of them lives in their upstream grant.
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Only the grant our consent step just made (policy()); consent is remembered by interactions.ts.
    loadExistingGrant: async (ctx) => {
      const id = ctx.oidc.result?.consent?.grantId;
      return id ? ctx.oidc.provider.Grant.find(id) : undefined;
    },
    extraTokenClaims: async (_ctx, token) => {
      if (token.kind !== 'AccessToken' || !token.grantId) return undefined;
      const g = await o.grants.find(token.grantId);
      return {
        gid: token.grantId,
        ...(g?.email ? { email: g.email } : {}),
        ...(g?.tenant !== undefined ? { [http.tenantClaim]: g.tenant } : {}),
      };
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    revokeGrantPolicy: () => true,
    pkce: { required: () => true },
    clientBasedCORS: () => true,
    interactions: { policy: policy(), url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      userinfo: { enabled: false },
      revocation: {
        enabled: true,
        // A public client may revoke only its own tokens (oidc-provider's rule, without its notice).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      registration: {
        enabled: oauth.registration.policy !== 'off',
        initialAccessToken: oauth.registration.policy === 'token' ? (o.registrationToken ?? false) : false,
      },
      clientIdMetadataDocument: {
        enabled: cimd.enabled,
        ack: 'draft-02',
        allowFetch: async (_ctx: KoaContextWithOIDC, id: string) =>
          cimdFetchAllowed(id, cimd.allowPrivateNetworks),
        allowClient: async () => true,
        cacheDuration: { min: 30, max: 3600 },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => o.resource,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resource) => {
          if (resource !== o.resource)
            throw new errors.InvalidTarget(`this server issues tokens for ${o.resource} only`);
          return {
            scope: RESOURCE_SCOPE,
            audience: o.resource,
            accessTokenTTL: oauth.accessTokenSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'ES256' } },
          };
        },
      },
    } as Configuration['features'],
    fetch: cimdFetch(cimd),
    renderError: async (ctx, out) => {
      ctx.type = 'json';
      ctx.body = { error: out.error, error_description: out.error_description ?? out.error };
    },
    ttl: {
      AccessToken: oauth.accessTokenSeconds,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      IdToken: 3600,
      // A rotated refresh token keeps the grant's end: sign-in + refreshTokenDays, not a rolling window.
      RefreshToken: (ctx) =>
        ctx.oidc.entities.RotatedRefreshToken?.remainingTTL ?? days(oauth.refreshTokenDays),
      Interaction: oauth.signInSeconds,
      Session: oauth.signInSeconds,
      Grant: days(oauth.refreshTokenDays),
    } as Configuration['ttl'],
  };
  const provider = new Provider(o.issuer, configuration);
  // An unknown path or method under /oauth/ answers in the OAuth error shape too, not Koa's text 404.
  provider.use(async (ctx, next) => {
    // MCP clients often ask for no scope; a grant needs one, so a bare request asks for the resource's own.
    if (ctx.method === 'GET' && ctx.path === '/oauth/authorize' && !ctx.query.scope) {
      const query = new URLSearchParams(ctx.querystring);
      query.set('scope', RESOURCE_SCOPE);
      ctx.querystring = query.toString();
    }
    await next();
    if (ctx.status === 404 && ctx.body === undefined) {
      ctx.status = 404;
      ctx.body = { error: 'invalid_request', error_description: 'unrecognized route or not allowed method' };
    }
  });
  // Behind a TLS-terminating load balancer the issuer is https while requests arrive over http.
  provider.proxy = new URL(o.issuer).protocol === 'https:';
  return provider;
}
