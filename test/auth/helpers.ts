/**
 * @module Helpers for the sign-in tests: temp config dirs, a sign-in config pointing at the sandbox, a
 * logger whose output is captured (to prove no token is logged), and spawning node children.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll } from 'vitest';
import { createLogger } from '../../src/log.js';
import type { SignInConfig } from '../../src/auth/index.js';
import type { SandboxDescription } from '../../tools/sandbox/description.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

export async function tempDir(prefix = 'qindex-auth-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export function signInConfig(
  d: SandboxDescription,
  overrides: Partial<Omit<SignInConfig, 'idp'>> & { idp?: Partial<SignInConfig['idp']> } = {},
): SignInConfig {
  return {
    profile: overrides.profile ?? 'default',
    tokenStore: overrides.tokenStore ?? 'file',
    idp: {
      issuer: d.issuer,
      clientId: d.clients.native,
      scopes: ['openid', 'email', 'profile', 'offline_access'],
      redirectPort: 0,
      redirectPath: '/callback',
      ...overrides.idp,
    },
  };
}

/** A logger writing into `lines`, at trace level so every log call is seen. */
export function capturedLogger() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ level: 'trace', destination }), lines };
}

/** Text that must not contain any of the canaries (tokens); returns the offending canary, if any. */
export function leaked(text: string, canaries: string[]): string | undefined {
  return canaries.find((c) => c.length > 8 && text.includes(c));
}

export interface Child {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  onStderr?: (text: string, all: string) => void;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `node args…` to completion (with an optional hook on each stderr chunk). */
export function runNode(args: string[], env: Record<string, string | undefined>, options: RunOptions = {}) {
  return run(process.execPath, args, env, options);
}

/** Runs a command to completion, collecting its output; `kill` sends it a signal. */
export function run(
  command: string,
  args: string[],
  env: Record<string, string | undefined>,
  options: RunOptions = {},
): Promise<Child> & { kill(signal?: NodeJS.Signals): void } {
  const child = spawn(command, args, {
    env: env as NodeJS.ProcessEnv,
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += String(c)));
  child.stderr.on('data', (c) => {
    stderr += String(c);
    options.onStderr?.(String(c), stderr);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 25_000);
  const done = new Promise<Child>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return Object.assign(done, { kill: (signal: NodeJS.Signals = 'SIGTERM') => child.kill(signal) });
}

/** The environment for a spawned CLI: no inherited display or keychain, its own config dir and HOME. */
export function cliEnv(
  configDir: string,
  extra: Record<string, string> = {},
): Record<string, string | undefined> {
  return {
    PATH: process.env.PATH,
    HOME: configDir,
    QINDEX_CONFIG_DIR: configDir,
    QINDEX_LOG_LEVEL: 'warn',
    ...extra,
  };
}
