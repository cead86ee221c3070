/**
 * @module Test harness for the MCP server: builds the CLI once (under a lock, skipped when dist is
 * fresh), then spawns `node dist/src/cli.js serve` over stdio with the SDK's Client, speaking the
 * protocol era asked for (2025-11-25 with initialize, or 2026-07-28), signed in as a sandbox user
 * through QINDEX_REFRESH_TOKEN, collecting stderr and every transport error.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Client,
  type CallToolResult,
  type ClientCapabilities,
  type LoggingLevel,
} from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { controlClient, type ControlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { CLI } from '../../tools/ensure-built.js';
import { configInputFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';
import { META, negotiation, type Era } from '../helpers/eras.js';

export { CLI, ROOT, ensureBuilt } from '../../tools/ensure-built.js';
export { ERAS, type Era } from '../helpers/eras.js';

/**
 * The SDK's stdio transport, subclassed: a subclass probes `server/discover` on its own child, where
 * the base class would spawn a second, short-lived server for the probe.
 */
export class InPlaceStdio extends StdioClientTransport {}

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
  era: Era;
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
  /** Protocol era the client speaks (default legacy). */
  era?: Era;
  /**
   * Modern era: the log level every tools/call asks for in its `_meta` (default debug, which gets what a
   * 2025 session without logging/setLevel gets: everything); null asks for none.
   */
  logLevel?: LoggingLevel | null;
}

/** Makes every tools/call of `client` ask for logs at `level`, unless the call's own `_meta` says. */
function askForLogs(client: Client, level: LoggingLevel): void {
  const callTool = client.callTool.bind(client);
  client.callTool = (params, options) =>
    callTool({ ...params, _meta: { [META.logLevel]: level, ...params._meta } }, options);
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
  const era = options.era ?? 'legacy';
  const transport = new InPlaceStdio({
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
    { capabilities: options.capabilities ?? {}, ...negotiation(era) },
  );
  const errors: Error[] = [];
  const logs: unknown[] = [];
  client.onerror = (e) => errors.push(e);
  client.setNotificationHandler('notifications/message', (n) => {
    logs.push(n.params);
  });
  await client.connect(transport);
  if (client.getProtocolEra() !== era) throw new Error(`connected in the ${client.getProtocolEra()} era`);
  const logLevel = options.logLevel === undefined ? 'debug' : options.logLevel;
  if (era === 'modern' && logLevel) askForLogs(client, logLevel);
  return {
    era,
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
