/**
 * @module Test harness for the MCP server: builds the CLI once (under a lock, skipped when dist is
 * fresh), then spawns `node dist/src/cli.js serve` over stdio with the SDK's Client, signed in as a
 * sandbox user through QINDEX_REFRESH_TOKEN, collecting stderr and every transport error.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult, ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { controlClient, type ControlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { CLI } from '../../tools/ensure-built.js';
import { configInputFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';

export { CLI, ROOT, ensureBuilt } from '../../tools/ensure-built.js';

export interface ServerUnderTest {
  client: Client;
  control: ControlClient;
  refreshToken: string;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
  /** Transport/protocol errors the client saw (a non-JSON-RPC stdout line shows up here). */
  errors: Error[];
  /** Logging notifications received. */
  logs: unknown[];
  /** How fix-it messages must spell the login: the program and --config as this server was started. */
  loginCommand: string;
  close(): Promise<void>;
}

export interface StartOptions {
  mode?: SandboxMode;
  username?: string;
  /** No QINDEX_REFRESH_TOKEN: nobody is signed in. */
  signedOut?: boolean;
  overrides?: ConfigOverrides;
  env?: Record<string, string>;
  /** Capabilities the test client declares (e.g. URL elicitation). */
  capabilities?: ClientCapabilities;
  /** Arguments after `serve` (default none); `--config <tmp file>` is always appended. */
  serveArgs?: string[];
}

/** Spawns the built CLI's `serve` for a sandbox user and connects an MCP client to it. */
export async function startServer(sandbox: Sandbox, options: StartOptions = {}): Promise<ServerUnderTest> {
  const d = sandbox.description;
  const mode = options.mode ?? 'idc';
  const control = controlClient(d.control);
  const base =
    mode === 'data-accessor' ? d.modes.dataAccessor : mode === 'idc' ? d.modes.idc : d.modes.iamFederation;
  const dir = await mkdtemp(join(tmpdir(), 'qindex-mcp-test-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(configInputFor(d, mode, options.overrides ?? {})));
  const refreshToken = options.signedOut
    ? ''
    : await control.mintRefreshToken({ username: options.username ?? 'alice', clientId: base.clientId });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    AWS_ACCESS_KEY_ID: base.baseCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: base.baseCredentials.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: 'true',
    QINDEX_CONFIG_DIR: join(dir, 'config'),
    ...(refreshToken ? { QINDEX_REFRESH_TOKEN: refreshToken } : {}),
    QINDEX_LOG_LEVEL: 'debug',
    ...options.env,
  };
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'serve', ...(options.serveArgs ?? []), '--config', configPath, '--log-level', 'debug'],
    env,
    stderr: 'pipe',
    cwd: dir,
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client(
    { name: 'qindex-mcp-tests', version: '1.0.0' },
    { capabilities: options.capabilities ?? {} },
  );
  const errors: Error[] = [];
  const logs: unknown[] = [];
  client.onerror = (e) => errors.push(e);
  await client.connect(transport);
  client.setNotificationHandler(
    (await import('@modelcontextprotocol/sdk/types.js')).LoggingMessageNotificationSchema,
    (n) => {
      logs.push(n.params);
    },
  );
  return {
    client,
    control,
    refreshToken,
    stderr: () => stderr,
    errors,
    logs,
    loginCommand: `${process.execPath} ${CLI} login --config ${configPath}`,
    close: () => client.close(),
  };
}

/** The text of a tool result's first content block. */
export function text(result: unknown): string {
  const content = (result as CallToolResult).content ?? [];
  const first = content[0];
  return first && first.type === 'text' ? first.text : '';
}

export const structured = <T = Record<string, unknown>>(result: unknown) =>
  (result as CallToolResult).structuredContent as T;
