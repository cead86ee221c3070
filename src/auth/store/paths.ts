/**
 * @module Where sign-in keeps its files: logins (file store) and lock files, under the user's config
 * directory (src/config/paths.ts: XDG on Linux, the platform's own elsewhere, QINDEX_CONFIG_DIR overrides).
 */
import { join } from 'node:path';
import { configDir } from '../../config/paths.js';

export type Env = Record<string, string | undefined>;

export const loginsDir = (env: Env = process.env) => join(configDir(env), 'logins');
export const locksDir = (env: Env = process.env) => join(configDir(env), 'locks');
