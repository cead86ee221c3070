/**
 * @module Where configuration lives on disk: the user's config directory (env-paths), overridable by
 * QINDEX_CONFIG_DIR so tests and unusual setups never touch the real home directory.
 */
import envPaths from 'env-paths';
import { join } from 'node:path';
import { CONFIG_DIR_ENV } from './flags.js';

type Env = Record<string, string | undefined>;

/** The directory of config.json: `$QINDEX_CONFIG_DIR`, else the platform's user config dir for qindex-mcp. */
export function configDir(env: Env = process.env): string {
  const override = env[CONFIG_DIR_ENV];
  if (override) return override;
  return envPaths('qindex-mcp', { suffix: '' }).config;
}

/** The configuration file read when neither `--config` nor `QINDEX_CONFIG` names one. */
export function defaultConfigPath(env: Env = process.env): string {
  return join(configDir(env), 'config.json');
}
