/**
 * @module The settings that environment variables and CLI flags can set, in one table, and the
 * `node:util` parseArgs options derived from it. docs/configuration.md documents the same table.
 */
import type { ParseArgsConfig } from 'node:util';

export interface Setting {
  /** Dotted path in the configuration, e.g. `idp.issuer`. */
  path: string;
  env: string;
  /** Long flag name without dashes; absent for settings that must not appear on a command line. */
  flag?: string;
  kind: 'string' | 'number' | 'list';
  /** Never echoed in error messages. */
  secret?: boolean;
}

export const SETTINGS: readonly Setting[] = [
  { path: 'profile', env: 'QINDEX_PROFILE', flag: 'profile', kind: 'string' },
  { path: 'idp.issuer', env: 'QINDEX_ISSUER', flag: 'issuer', kind: 'string' },
  { path: 'idp.clientId', env: 'QINDEX_CLIENT_ID', flag: 'client-id', kind: 'string' },
  { path: 'idp.clientSecret', env: 'QINDEX_CLIENT_SECRET', kind: 'string', secret: true },
  { path: 'idp.scopes', env: 'QINDEX_SCOPES', flag: 'scopes', kind: 'list' },
  { path: 'idp.redirectPort', env: 'QINDEX_REDIRECT_PORT', flag: 'redirect-port', kind: 'number' },
  { path: 'mode.type', env: 'QINDEX_MODE', flag: 'mode', kind: 'string' },
  { path: 'mode.grant', env: 'QINDEX_GRANT', flag: 'grant', kind: 'string' },
  { path: 'mode.idcRegion', env: 'QINDEX_IDC_REGION', flag: 'idc-region', kind: 'string' },
  {
    path: 'mode.idcApplicationArn',
    env: 'QINDEX_IDC_APPLICATION_ARN',
    flag: 'idc-application-arn',
    kind: 'string',
  },
  { path: 'mode.roleArn', env: 'QINDEX_ROLE_ARN', flag: 'role-arn', kind: 'string' },
  { path: 'mode.tenantId', env: 'QINDEX_TENANT_ID', flag: 'tenant-id', kind: 'string' },
  {
    path: 'mode.sessionDurationSeconds',
    env: 'QINDEX_SESSION_DURATION_SECONDS',
    flag: 'session-duration',
    kind: 'number',
  },
  { path: 'q.region', env: 'QINDEX_Q_REGION', flag: 'q-region', kind: 'string' },
  { path: 'q.applicationId', env: 'QINDEX_Q_APPLICATION_ID', flag: 'application-id', kind: 'string' },
  { path: 'q.retrieverId', env: 'QINDEX_Q_RETRIEVER_ID', flag: 'retriever-id', kind: 'string' },
  { path: 'q.indexId', env: 'QINDEX_Q_INDEX_ID', flag: 'index-id', kind: 'string' },
  { path: 'aws.endpoint', env: 'QINDEX_AWS_ENDPOINT', flag: 'aws-endpoint', kind: 'string' },
  { path: 'aws.profile', env: 'QINDEX_AWS_PROFILE', flag: 'aws-profile', kind: 'string' },
  { path: 'tokenStore', env: 'QINDEX_TOKEN_STORE', flag: 'token-store', kind: 'string' },
  {
    path: 'credentials.refreshMarginSeconds',
    env: 'QINDEX_REFRESH_MARGIN_SECONDS',
    flag: 'refresh-margin',
    kind: 'number',
  },
  { path: 'logging.level', env: 'QINDEX_LOG_LEVEL', flag: 'log-level', kind: 'string' },
];

/** Names the configuration file; also settable as QINDEX_CONFIG. */
export const CONFIG_FLAG = 'config';
export const CONFIG_ENV = 'QINDEX_CONFIG';

type Options = NonNullable<ParseArgsConfig['options']>;

/** parseArgs options every command that reads the configuration accepts (all strings). */
export const commonFlagOptions: Options = {
  [CONFIG_FLAG]: { type: 'string' },
  ...Object.fromEntries(SETTINGS.filter((s) => s.flag).map((s) => [s.flag, { type: 'string' as const }])),
};

/** The values object parseArgs returns; only strings matter to configuration. */
export type FlagValues = Record<string, string | boolean | Array<string | boolean> | undefined>;
