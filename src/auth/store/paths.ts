/**
 * @module Where sign-in keeps its files: the user's config directory (XDG on Linux, the platform's own
 * elsewhere), overridable with QINDEX_CONFIG_DIR (tests, portable installs).
 */
import envPaths from 'env-paths';
import { join } from 'node:path';

export type Env = Record<string, string | undefined>;

export function configDir(env: Env = process.env): string {
  return env.QINDEX_CONFIG_DIR || envPaths('qindex-mcp', { suffix: '' }).config;
}

export const loginsDir = (env: Env = process.env) => join(configDir(env), 'logins');
export const locksDir = (env: Env = process.env) => join(configDir(env), 'locks');
