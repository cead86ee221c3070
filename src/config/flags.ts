/**
 * @module The settings that environment variables and CLI flags can set, in one table, and what is
 * derived from it: the `node:util` parseArgs options of every command, the variables load.ts reads,
 * and the settings table of docs/configuration.md (`npm run gen:schema` writes it). Nothing outside
 * src/config reads a setting from the environment or the command line.
 */
import type { ParseArgsConfig } from 'node:util';

export interface Setting {
  /** Dotted path in the configuration, e.g. `idp.issuer`; absent for the few settings outside it. */
  path?: string;
  /** Environment variable; absent for settings only the file (or a flag) sets. */
  env?: string;
  /** Long flag name without dashes; absent for settings that must not appear on a command line. */
  flag?: string;
  kind: 'string' | 'number' | 'list' | 'boolean';
  /** A list flag given once per item (`--allowed-origin a --allowed-origin b`). */
  repeatable?: boolean;
  /** Never echoed in error messages. */
  secret?: boolean;
  /** The docs' default column when the schema's default does not say it well. */
  defaultText?: string;
  /** The docs' meaning column. */
  description: string;
}

/** Names the configuration file; also settable as QINDEX_CONFIG. */
export const CONFIG_FLAG = 'config';
export const CONFIG_ENV = 'QINDEX_CONFIG';
export const CONFIG_DIR_ENV = 'QINDEX_CONFIG_DIR';
export const REFRESH_TOKEN_ENV = 'QINDEX_REFRESH_TOKEN';

export const SETTINGS: readonly Setting[] = [
  {
    env: CONFIG_ENV,
    flag: CONFIG_FLAG,
    kind: 'string',
    defaultText: '`config.json` in the config directory',
    description: 'the configuration file; a missing file named this way is an error',
  },
  {
    env: CONFIG_DIR_ENV,
    kind: 'string',
    defaultText: 'per platform (above)',
    description: 'replaces the user configuration directory (config file, logins, locks)',
  },
  {
    env: REFRESH_TOKEN_ENV,
    kind: 'string',
    secret: true,
    description:
      "headless refresh token; takes precedence over the profile's stored login (never a flag: command lines are visible to other users)",
  },
  {
    path: 'profile',
    env: 'QINDEX_PROFILE',
    flag: 'profile',
    kind: 'string',
    description: 'login profile; several logins can live side by side',
  },
  {
    path: 'idp.issuer',
    env: 'QINDEX_ISSUER',
    flag: 'issuer',
    kind: 'string',
    description: 'OIDC issuer URL',
  },
  {
    path: 'idp.clientId',
    env: 'QINDEX_CLIENT_ID',
    flag: 'client-id',
    kind: 'string',
    description: 'OIDC client id registered for qindex-mcp',
  },
  {
    path: 'idp.clientSecret',
    env: 'QINDEX_CLIENT_SECRET',
    kind: 'string',
    secret: true,
    description: 'only for confidential clients (never a flag: command lines are visible to other users)',
  },
  {
    path: 'idp.scopes',
    env: 'QINDEX_SCOPES',
    flag: 'scopes',
    kind: 'list',
    description: 'scopes to request',
  },
  {
    path: 'idp.redirectPort',
    env: 'QINDEX_REDIRECT_PORT',
    flag: 'redirect-port',
    kind: 'number',
    defaultText: '`0` (free port)',
    description: 'loopback port of the browser login callback',
  },
  { path: 'idp.redirectPath', kind: 'string', description: 'path of the loopback callback' },
  {
    path: 'mode.type',
    env: 'QINDEX_MODE',
    flag: 'mode',
    kind: 'string',
    description: '`idc`, `data-accessor` or `iam-federation`',
  },
  {
    path: 'mode.grant',
    env: 'QINDEX_GRANT',
    flag: 'grant',
    kind: 'string',
    description: 'data-accessor only: `tti` or `auth-code`',
  },
  {
    path: 'mode.idcRegion',
    env: 'QINDEX_IDC_REGION',
    flag: 'idc-region',
    kind: 'string',
    description: 'region of IAM Identity Center (idc, data-accessor)',
  },
  {
    path: 'mode.idcApplicationArn',
    env: 'QINDEX_IDC_APPLICATION_ARN',
    flag: 'idc-application-arn',
    kind: 'string',
    description: 'the IdC application (idc: yours; data-accessor: the one the customer gave you)',
  },
  {
    path: 'mode.roleArn',
    env: 'QINDEX_ROLE_ARN',
    flag: 'role-arn',
    kind: 'string',
    description: 'role that calls Q Business',
  },
  {
    path: 'mode.tenantId',
    env: 'QINDEX_TENANT_ID',
    flag: 'tenant-id',
    kind: 'string',
    description: 'data-accessor only: tenant id agreed with the customer',
  },
  {
    path: 'mode.sessionDurationSeconds',
    env: 'QINDEX_SESSION_DURATION_SECONDS',
    flag: 'session-duration',
    kind: 'number',
    description: 'role session length, 900–3600',
  },
  {
    path: 'q.region',
    env: 'QINDEX_Q_REGION',
    flag: 'q-region',
    kind: 'string',
    description: 'region of the Q Business application',
  },
  {
    path: 'q.applicationId',
    env: 'QINDEX_Q_APPLICATION_ID',
    flag: 'application-id',
    kind: 'string',
    description: 'Q Business application id',
  },
  {
    path: 'q.retrieverId',
    env: 'QINDEX_Q_RETRIEVER_ID',
    flag: 'retriever-id',
    kind: 'string',
    description: 'retriever for SearchRelevantContent',
  },
  {
    path: 'q.indexId',
    env: 'QINDEX_Q_INDEX_ID',
    flag: 'index-id',
    kind: 'string',
    description: 'optional index id',
  },
  {
    path: 'q.timeoutSeconds',
    kind: 'number',
    description: 'abort a Q call after this long without an answer (Chat: without a new event), 1–600',
  },
  {
    path: 'aws.endpoint',
    env: 'QINDEX_AWS_ENDPOINT',
    flag: 'aws-endpoint',
    kind: 'string',
    defaultText: 'AWS',
    description: 'one endpoint for every AWS call (the sandbox)',
  },
  {
    path: 'aws.profile',
    env: 'QINDEX_AWS_PROFILE',
    flag: 'aws-profile',
    kind: 'string',
    defaultText: 'default chain',
    description: "named AWS profile for the app's or ISV's base credentials",
  },
  {
    path: 'tokenStore',
    env: 'QINDEX_TOKEN_STORE',
    flag: 'token-store',
    kind: 'string',
    description: '`auto`, `keychain`, `file` or `memory`',
  },
  {
    path: 'credentials.refreshMarginSeconds',
    env: 'QINDEX_REFRESH_MARGIN_SECONDS',
    flag: 'refresh-margin',
    kind: 'number',
    description: 'renew AWS credentials this long before they expire',
  },
  {
    path: 'logging.level',
    env: 'QINDEX_LOG_LEVEL',
    flag: 'log-level',
    kind: 'string',
    description: '`trace` … `silent`; logs go to stderr',
  },
  // serve --transport http (docs/http.md has the rest of the http section).
  {
    path: 'http.host',
    flag: 'host',
    kind: 'string',
    description: 'address to bind; loopback only unless `http.auth` is `bearer`',
  },
  { path: 'http.port', flag: 'port', kind: 'number', description: 'port to listen on; `0` picks a free one' },
  {
    path: 'http.metricsPort',
    flag: 'metrics-port',
    kind: 'number',
    description: 'port of the Prometheus `/metrics` listener (loopback, `http.metricsHost`); off unless set',
  },
  {
    path: 'http.auth',
    flag: 'auth',
    kind: 'string',
    description:
      "`none`: the profile's signed-in user (local); `bearer`: a JWT per request; `oauth`: this server's own authorization server in front of the IdP",
  },
  {
    path: 'http.resource',
    flag: 'resource',
    kind: 'string',
    description: "this server's public URL, the audience bearer tokens carry; needed with `bearer`",
  },
  {
    path: 'http.stateless',
    flag: 'stateless',
    kind: 'boolean',
    description: 'no MCP sessions: any replica serves any request',
  },
  {
    path: 'http.redisUrl',
    env: 'QINDEX_REDIS_URL',
    flag: 'redis-url',
    kind: 'string',
    // A Redis URL may carry a password.
    secret: true,
    description: 'shared, encrypted credential cache of the replicas (bearer mode)',
  },
  {
    path: 'http.cacheKey',
    env: 'QINDEX_CACHE_KEY',
    kind: 'string',
    secret: true,
    description: 'base64 of 32 random bytes encrypting the shared cache; needed with `http.redisUrl`',
  },
  {
    path: 'http.oauth.registration.initialAccessToken',
    env: 'QINDEX_OAUTH_REGISTRATION_TOKEN',
    kind: 'string',
    secret: true,
    description:
      'the initial access token for client registration (`http.oauth.registration.policy` `token`)',
  },
  {
    path: 'http.allowedOrigins',
    flag: 'allowed-origin',
    kind: 'list',
    repeatable: true,
    description: 'origins allowed to call; loopback origins of this port always are',
  },
  {
    path: 'http.allowedHosts',
    flag: 'allowed-host',
    kind: 'list',
    repeatable: true,
    description: 'Host headers accepted; empty: loopback names when bound to loopback',
  },
];

type Options = NonNullable<ParseArgsConfig['options']>;

const isHttp = (s: Setting) => s.path?.startsWith('http.') === true;

function flagOptions(settings: readonly Setting[]): Options {
  return Object.fromEntries(
    settings
      .filter((s) => s.flag)
      .map((s) => [
        s.flag,
        s.kind === 'boolean'
          ? { type: 'boolean' as const }
          : { type: 'string' as const, ...(s.repeatable ? { multiple: true } : {}) },
      ]),
  );
}

/** parseArgs options every command that reads the configuration accepts. */
export const commonFlagOptions: Options = flagOptions(SETTINGS.filter((s) => !isHttp(s)));

/** parseArgs options of the HTTP transport (`serve --transport http`, and `doctor`). */
export const httpFlagOptions: Options = flagOptions(SETTINGS.filter(isHttp));

/** The values object parseArgs returns. */
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;

/**
 * The headless refresh token (QINDEX_REFRESH_TOKEN), for sign-in to be handed; undefined when unset
 * or blank. Lives here so that no other layer reads settings from the environment.
 */
export function headlessRefreshToken(env: Record<string, string | undefined> = process.env) {
  return env[REFRESH_TOKEN_ENV]?.trim() || undefined;
}
