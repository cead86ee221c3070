/**
 * @module The `http` section of the configuration: how `serve --transport http` listens, authenticates
 * (local one-user, bearer JWTs, or its own OAuth authorization server in front of the IdP), picks tenants,
 * shares credentials across replicas and limits load.
 */
import { z } from 'zod';
import { qIdString } from './ids.js';

const idcApplicationArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:sso::\d{12}:application\/ssoins-[\w-]+\/apl-[\w-]+$/,
    'an IAM Identity Center application ARN (arn:aws:sso::<account>:application/ssoins-…/apl-…)',
  );
const qId = qIdString('Q Business id');

export const HttpTenantSchema = z
  .object({
    tenantId: z.string().min(1).max(256).describe('Tenant id agreed with the customer (ExternalId tag)'),
    idcApplicationArn: idcApplicationArn.describe("The customer's data accessor IdC application ARN"),
    applicationId: qId.describe("The customer's Q Business application id"),
    retrieverId: qId.describe("The customer's retriever id"),
    region: z.string().min(1).optional().describe('Q region, when it differs from q.region'),
    idcRegion: z.string().min(1).optional().describe('IdC region, when it differs from mode.idcRegion'),
    roleArn: z.string().min(1).optional().describe('ISV role, when it differs from mode.roleArn'),
  })
  .strict();

export const HttpLimitsSchema = z
  .object({
    maxBodyBytes: z.number().int().min(1024).default(1_048_576).describe('Largest request body (413 above)'),
    maxConcurrentPerUser: z
      .number()
      .int()
      .min(1)
      .default(16)
      .describe(
        'Requests one user may have in flight at once, each request of a JSON-RPC batch counted (429 above); also bounds their concurrent Q calls',
      ),
    maxCachedUsers: z
      .number()
      .int()
      .min(1)
      .default(1000)
      .describe('Users whose credentials stay cached (LRU)'),
    userIdleSeconds: z.number().int().min(1).default(900).describe('A cached user idle this long is evicted'),
    maxSessions: z.number().int().min(1).default(10_000).describe('Open MCP sessions (stateful mode)'),
    maxSessionsPerUser: z
      .number()
      .int()
      .min(1)
      .default(100)
      .describe("Open sessions of one user; another one closes that user's least recently used"),
    sessionIdleSeconds: z.number().int().min(1).default(1800).describe('An idle session is closed'),
    requestTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .default(120)
      .describe(
        'Time to receive a whole request, headers and body (408 after, within a second); responses and streams are not cut',
      ),
    headersTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .default(30)
      .describe(
        "Time to receive a request's headers, counted from the connection's start for its first request: a connection that sends nothing is closed after it (at most requestTimeoutSeconds)",
      ),
    keepAliveTimeoutSeconds: z
      .number()
      .int()
      .min(1)
      .default(5)
      .describe('An idle keep-alive connection between requests is closed after this'),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(10_000)
      .describe(
        'Open TCP connections; more are closed on arrival (keep it below the open-file limit, ulimit -n)',
      ),
    listenBacklog: z
      .number()
      .int()
      .min(1)
      .default(4096)
      .describe(
        'New connections the kernel completes before the server accepts them (capped by net.core.somaxconn); past it, a burst of connects waits for TCP retries of 1, 3, 7 s…',
      ),
    shutdownGraceSeconds: z
      .number()
      .min(0)
      .default(30)
      .describe('How long shutdown waits for in-flight calls to finish'),
  })
  .strict();

export const HttpOAuthClientSchema = z
  .object({
    clientId: z.string().min(1).max(256).describe('The client id the MCP client is configured with'),
    clientSecret: z
      .string()
      .min(1)
      .optional()
      .describe("A confidential client's secret (client_secret_basic or _post); none: a public client"),
    redirectUris: z
      .array(z.url())
      .min(1)
      .describe('Exact redirect URIs; a loopback http URI matches on any port (RFC 8252)'),
    name: z.string().min(1).max(200).describe('The name the consent page shows'),
  })
  .strict();

export const HttpOAuthSchema = z
  .object({
    issuer: z
      .url()
      .optional()
      .describe("This authorization server's issuer; default: the origin of http.resource"),
    clients: z
      .array(HttpOAuthClientSchema)
      .default([])
      .describe('Pre-registered MCP clients (for clients with a static client id)'),
    clientIdMetadataDocuments: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe('Accept https client_id URLs serving the client metadata (CIMD)'),
        allowPrivateNetworks: z
          .boolean()
          .default(false)
          .describe('Let CIMD fetches reach loopback and private addresses (tests only)'),
        caFile: z
          .string()
          .min(1)
          .optional()
          .describe('PEM file of an extra CA trusted for CIMD fetches (tests only)'),
      })
      .strict()
      .default({ enabled: true, allowPrivateNetworks: false }),
    registration: z
      .object({
        policy: z
          .enum(['open', 'off', 'token'])
          .default('open')
          .describe('Dynamic client registration (RFC 7591): open, off, or with an initial access token'),
        initialAccessToken: z
          .string()
          .min(16)
          .optional()
          .describe('The initial access token of policy "token" (or env QINDEX_OAUTH_REGISTRATION_TOKEN)'),
      })
      .strict()
      .default({ policy: 'open' }),
    accessTokenSeconds: z
      .number()
      .int()
      .min(60)
      .max(3600)
      .default(900)
      .describe('Lifetime of the access tokens this server issues'),
    refreshTokenDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe('Lifetime of a grant: its rotating refresh tokens end this long after sign-in'),
    consentDays: z
      .number()
      .int()
      .min(0)
      .max(3650)
      .default(90)
      .describe("How long a user's consent for a client is remembered (0: asked every sign-in)"),
    signInSeconds: z
      .number()
      .int()
      .min(60)
      .max(3600)
      .default(600)
      .describe('A sign-in not finished within this expires and leaves nothing behind'),
  })
  .strict();

export const HttpAuditSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe('One JSON line per tool call (who used which tool when); over stdio only with `file`'),
    file: z
      .string()
      .min(1)
      .optional()
      .describe('Append the audit lines to this file instead of stderr (stdio too)'),
    includeQueries: z
      .boolean()
      .default(false)
      .describe("Also record the tool's arguments (query text); off: never any query text or content"),
  })
  .strict();

export const HttpSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Address to bind; loopback by default'),
    port: z.number().int().min(0).max(65535).default(8765).describe('Port to listen on; 0 picks a free one'),
    path: z.string().startsWith('/').default('/mcp').describe('Path of the MCP endpoint'),
    auth: z
      .enum(['none', 'bearer', 'oauth'])
      .default('none')
      .describe(
        'none: the signed-in user of the profile (local); bearer: every request brings a JWT; oauth: this server is the authorization server of MCP clients, in front of the idp',
      ),
    resource: z
      .url()
      .optional()
      .describe(
        "This server's public URL and the audience bearer tokens must carry (RFC 8707/9728); oauth mode on loopback defaults it to http://127.0.0.1:<port><path>",
      ),
    oauth: HttpOAuthSchema.default(HttpOAuthSchema.parse({})),
    algorithms: z
      .array(
        z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']),
      )
      .min(1)
      .default(['RS256', 'PS256', 'ES256'])
      .describe('Signature algorithms accepted for bearer tokens (never none or HMAC)'),
    jwksUri: z.url().optional().describe("The IdP's JWKS; default: jwks_uri from its discovery document"),
    allowedOrigins: z
      .array(z.string().min(1))
      .default([])
      .describe('Origins allowed to call (403 otherwise); loopback origins of this port are always allowed'),
    allowedHosts: z
      .array(z.string().min(1))
      .default([])
      .describe('Host headers accepted (403 otherwise); empty: loopback names when bound to loopback'),
    stateless: z
      .boolean()
      .default(false)
      .describe('No MCP sessions: any replica serves any request (scale-out behind a load balancer)'),
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL')
      .optional()
      .describe('Shared, encrypted credential cache so replicas make one exchange per user'),
    cacheKey: z
      .string()
      .refine(
        (k) => Buffer.from(k, 'base64').length === 32,
        'base64 of 32 random bytes (openssl rand -base64 32)',
      )
      .optional()
      .describe(
        'Base64 of 32 random bytes encrypting the shared cache and oauth state (or env QINDEX_CACHE_KEY)',
      ),
    tenantClaim: z
      .string()
      .min(1)
      .default('tenant')
      .describe('Token claim naming the tenant (keys of `tenants`); used when tenants are configured'),
    tenants: z
      .record(z.string().min(1), HttpTenantSchema)
      .optional()
      .describe('Per-tenant data-accessor settings, keyed by the tenant claim value'),
    limits: HttpLimitsSchema.default(HttpLimitsSchema.parse({})),
    metricsPort: z
      .number()
      .int()
      .min(0)
      .max(65535)
      .optional()
      .describe(
        'Port of the Prometheus `/metrics` listener (a separate one); off unless set, 0 picks a free one',
      ),
    metricsHost: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address the `/metrics` listener binds; loopback by default'),
    audit: HttpAuditSchema.default(HttpAuditSchema.parse({})),
  })
  .strict();

export type HttpConfig = z.output<typeof HttpSchema>;
export type HttpTenantConfig = z.output<typeof HttpTenantSchema>;
export type HttpLimits = z.output<typeof HttpLimitsSchema>;
export type HttpOAuthConfig = z.output<typeof HttpOAuthSchema>;
export type HttpOAuthClientConfig = z.output<typeof HttpOAuthClientSchema>;
