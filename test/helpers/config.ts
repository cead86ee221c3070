/**
 * @module Test helper: a valid QindexConfig for one identity mode, built from the sandbox description.
 * The product never knows the sandbox; tests hand it an ordinary configuration that points at it.
 */
import { ConfigSchema, type QindexConfig, type QindexConfigInput } from '../../src/config/schema.js';
import type { SandboxDescription } from '../../tools/sandbox/description.js';

export type SandboxMode = 'idc' | 'data-accessor' | 'iam-federation';

/** Deep partial of the configuration input: nested objects merge, arrays and scalars replace. */
export type ConfigOverrides = DeepPartial<QindexConfigInput>;
type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> | undefined }
    : T;

/** The configuration input (before defaults) for `mode`; useful to write a config file. */
export function configInputFor(
  description: SandboxDescription,
  mode: SandboxMode,
  overrides: ConfigOverrides = {},
): QindexConfigInput {
  return deepMerge(baseInput(description, mode), overrides) as QindexConfigInput;
}

/** A parsed, valid configuration for `mode` against the sandbox; `overrides` are merged in first. */
export function configFor(
  description: SandboxDescription,
  mode: SandboxMode,
  overrides: ConfigOverrides = {},
): QindexConfig {
  return ConfigSchema.parse(configInputFor(description, mode, overrides));
}

function baseInput(d: SandboxDescription, mode: SandboxMode): QindexConfigInput {
  const m =
    mode === 'idc' ? d.modes.idc : mode === 'data-accessor' ? d.modes.dataAccessor : d.modes.iamFederation;
  const common = {
    profile: 'default',
    idp: { issuer: m.issuer, clientId: m.clientId },
    q: { region: m.qRegion, applicationId: m.applicationId, retrieverId: m.retrieverId, indexId: m.indexId },
    aws: { endpoint: m.awsEndpoint },
    tokenStore: 'memory' as const,
    logging: { level: 'silent' as const },
  };
  if (mode === 'idc') {
    const i = d.modes.idc;
    return {
      ...common,
      mode: {
        type: 'idc',
        idcRegion: i.idcRegion,
        idcApplicationArn: i.idcApplicationArn,
        roleArn: i.roleArn,
      },
    };
  }
  if (mode === 'data-accessor') {
    const a = d.modes.dataAccessor;
    return {
      ...common,
      mode: {
        type: 'data-accessor',
        grant: 'tti',
        idcRegion: a.idcRegion,
        idcApplicationArn: a.idcApplicationArn,
        roleArn: a.roleArn,
        tenantId: a.tenantId,
      },
    };
  }
  return { ...common, mode: { type: 'iam-federation', roleArn: d.modes.iamFederation.roleArn } };
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = deepMerge(base[k], v);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
