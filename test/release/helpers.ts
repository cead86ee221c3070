/**
 * @module Helpers for the release tests (test/release/): environments for npm and for an installed
 * qindex-mcp that sees nothing of this checkout, a sandbox configuration file, a device login approved
 * through the sandbox control API, and an MCP client that runs one search.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { run, type Child } from '../auth/helpers.js';
import { configInputFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';

/** Only this Node and the system tools: nothing of the checkout (no node_modules/.bin). */
export const CLEAN_PATH = [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');

/** Where the user's npm reads its configuration (registry, CA file, proxy): kept when HOME or prefix change. */
const npmConfigFiles = (() => {
  const get = (key: string) =>
    process.env[`npm_config_${key}`] ??
    execFileSync('npm', ['config', 'get', key], { encoding: 'utf8' }).trim();
  return { npm_config_globalconfig: get('globalconfig'), npm_config_userconfig: get('userconfig') };
})();

/**
 * npm as the user runs it, with a fresh HOME: the user's npm configuration and cache (packages
 * already fetched install offline; as test/cli/start.test.ts does), proxies and CA bundles.
 */
export function npmEnv(home: string): NodeJS.ProcessEnv {
  const network = Object.entries(process.env).filter(([k]) => /proxy|(^|_)CA_|CERT|SSL/i.test(k));
  return {
    ...Object.fromEntries(network),
    ...npmConfigFiles,
    PATH: CLEAN_PATH,
    HOME: home,
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

/** The environment of an installed qindex-mcp: its own HOME and config dir, no display or keychain. */
export function userEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: CLEAN_PATH,
    HOME: home,
    QINDEX_CONFIG_DIR: join(home, 'config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...extra,
  };
}

/** The app's (or ISV's) own AWS keys for `mode`, as environment variables. */
export function awsKeys(sandbox: Sandbox, mode: SandboxMode): Record<string, string> {
  const m = sandbox.description.modes;
  const base = (mode === 'data-accessor' ? m.dataAccessor : mode === 'idc' ? m.idc : m.iamFederation)
    .baseCredentials;
  return { AWS_ACCESS_KEY_ID: base.accessKeyId, AWS_SECRET_ACCESS_KEY: base.secretAccessKey };
}

/** Writes an ordinary configuration file for `mode` against the sandbox; returns its path. */
export async function writeSandboxConfig(
  dir: string,
  sandbox: Sandbox,
  mode: SandboxMode,
  overrides: ConfigOverrides = {},
): Promise<string> {
  const path = join(dir, `config-${mode}.json`);
  const input = configInputFor(sandbox.description, mode, {
    tokenStore: 'file',
    logging: { level: 'warn' },
    ...overrides,
  });
  await writeFile(path, JSON.stringify(input, null, 2));
  return path;
}

/** Runs a `login --device` command line, approving the code it prints for `username`. */
export function deviceLogin(
  sandbox: Sandbox,
  command: string,
  args: string[],
  env: Record<string, string>,
  username: string,
): Promise<Child> {
  const control = controlClient(sandbox.description.control);
  let approved = false;
  return run(command, args, env, {
    timeoutMs: 60_000,
    onStderr: (_chunk, all) => {
      const m = /enter the code: (\S+)/.exec(all);
      if (m && !approved) {
        approved = true;
        void control.approveDevice({ userCode: m[1]!, username });
      }
    },
  });
}

export interface Searched {
  tools: string[];
  text: string;
  isError: boolean;
}

/** Connects an MCP client over `transport`, lists the tools and runs one search, then disconnects. */
export async function listAndSearch(
  transport: Transport,
  query = 'travel reimbursement limit',
): Promise<Searched> {
  const client = new Client({ name: 'release-test', version: '1.0.0' });
  await client.connect(transport);
  try {
    const tools = (await client.listTools()).tools.map((t) => t.name);
    const result = (await client.callTool({ name: 'search_relevant_content', arguments: { query } })) as {
      isError?: boolean;
      content: Array<{ type: string; text?: string }>;
    };
    return {
      tools,
      text: result.content.map((c) => c.text ?? '').join('\n'),
      isError: result.isError === true,
    };
  } finally {
    await client.close();
  }
}

/** An MCP client transport that spawns `command args` (stderr kept for failure messages). */
export function stdio(command: string, args: string[], env: Record<string, string>, cwd?: string) {
  const transport = new StdioClientTransport({ command, args, env, stderr: 'pipe', ...(cwd ? { cwd } : {}) });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return { transport, stderr: () => stderr };
}

export function streamableHttp(url: string, token?: string) {
  return new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
  });
}

/** A long-running child (a server): its output so far, a promise for a line, and a stop. */
export interface Running {
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

export function runServer(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Running {
  let out = '';
  const waiters: Array<() => void> = [];
  const child = run(command, args, env, {
    timeoutMs: 300_000,
    ...(cwd ? { cwd } : {}),
    onStderr: (chunk) => {
      out += chunk;
      for (const w of waiters.splice(0)) w();
    },
  });
  const exited = child.then((r) => r.code);
  return {
    output: () => out,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${out}`)), timeoutMs);
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            clearTimeout(timer);
            resolve(m);
          } else waiters.push(check);
        };
        void exited.then(() => {
          clearTimeout(timer);
          if (!pattern.exec(out)) reject(new Error(`exited before ${pattern}:\n${out}`));
        });
        check();
      });
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
