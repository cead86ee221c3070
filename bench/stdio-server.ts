/**
 * @module How the stdio benchmarks start the built server against the sandbox: one idc configuration
 * (memory token store, silent logs) in a temp directory, and for each server its own refresh token for
 * alice (a server rotates the token it was given, so two servers never share one).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetDocumentContentCommand,
  QBusinessClient,
  SearchRelevantContentCommand,
} from '@aws-sdk/client-qbusiness';
import { openSignIn } from '../src/auth/index.js';
import { ConfigSchema } from '../src/config/schema.js';
import { createCredentialProvider } from '../src/identity/index.js';
import { createLogger } from '../src/log.js';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import { controlClient } from '../tools/sandbox/control-client.js';
import { sandboxConfig } from '../tools/sandbox-config.js';
import { CLI } from '../tools/ensure-built.js';

/** The configuration every stdio benchmark serves. */
export const benchConfig = (d: SandboxDescription) => ({
  ...sandboxConfig(d, 'idc'),
  tokenStore: 'memory',
  logging: { level: 'silent' },
});

/** The searches the overhead benchmarks cycle through. */
export const QUERIES = [
  'travel reimbursement limit',
  'on-call escalation',
  'connect to the VPN',
  'parental leave',
];

/**
 * The overhead benchmarks' baseline: the bare SDK call as alice, identity-aware credentials built once, on
 * the transport settings of src/q/client.ts, so that the difference is the MCP layer alone.
 */
export async function rawSearch(d: SandboxDescription) {
  const { config, sdk } = await rawClient(d);
  return {
    search: (i: number) =>
      sdk.send(
        new SearchRelevantContentCommand({
          applicationId: config.q.applicationId,
          queryText: QUERIES[i % QUERIES.length],
          contentSource: { retriever: { retrieverId: config.q.retrieverId } },
          maxResults: 10,
        }),
      ),
    destroy: () => sdk.destroy(),
  };
}

/** The same baseline for get_document: the bare GetDocumentContent (EXTRACTED) call, Q's ACL check. */
export async function rawGetDocumentContent(d: SandboxDescription) {
  const { config, sdk } = await rawClient(d);
  return {
    get: (documentId: string) =>
      sdk.send(
        new GetDocumentContentCommand({
          applicationId: config.q.applicationId,
          indexId: config.q.indexId,
          documentId,
          outputFormat: 'EXTRACTED',
        }),
      ),
    destroy: () => sdk.destroy(),
  };
}

/** A bare QBusinessClient as alice (a refresh token of its own), as src/q/client.ts configures one. */
export async function rawClient(d: SandboxDescription) {
  const config = ConfigSchema.parse(benchConfig(d));
  const logger = createLogger({ level: 'silent' });
  const base = d.modes.idc.baseCredentials;
  process.env.AWS_ACCESS_KEY_ID = base.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = base.secretAccessKey;
  const token = await controlClient(d.control).mintRefreshToken({
    username: 'alice',
    clientId: d.modes.idc.clientId,
  });
  const signIn = openSignIn(config, { logger, env: { ...process.env, QINDEX_REFRESH_TOKEN: token } });
  const credentials = createCredentialProvider(config, { freshIdToken: () => signIn.freshIdToken(), logger });
  const sdk = new QBusinessClient({
    region: config.q.region,
    endpoint: config.aws.endpoint,
    credentials,
    requestHandler: { disableConcurrentStreams: false },
  });
  return { config, sdk };
}

export async function benchServer(d: SandboxDescription, tag: string) {
  const dir = await mkdtemp(join(tmpdir(), `qindex-mcp-bench-${tag}-`));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(benchConfig(d)));
  const control = controlClient(d.control);
  const base = d.modes.idc.baseCredentials;
  return {
    /** The CLI's arguments for `serve` with that configuration (`cli`: another build). */
    args: (cli = CLI) => [cli, 'serve', '--config', configPath],
    /** A server's environment, with a refresh token of its own. */
    async env(): Promise<Record<string, string>> {
      const token = await control.mintRefreshToken({ username: 'alice', clientId: d.modes.idc.clientId });
      return {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        QINDEX_CONFIG_DIR: dir,
        QINDEX_REFRESH_TOKEN: token,
        AWS_ACCESS_KEY_ID: base.accessKeyId,
        AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
      };
    },
  };
}

/** The 2026-07-28 `_meta` envelope the line client puts on every request. */
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'bench-lines', version: '1' },
};

/**
 * A minimal MCP client over a spawned server's stdio, in either era: 2025-11-25 sends `initialize`
 * once, 2026-07-28 puts the envelope in every request's `_meta`; answers are matched by id and
 * JSON-parsed, nothing more.
 */
export type LineClient = Awaited<ReturnType<typeof lineClient>>;

export async function lineClient(era: 'legacy' | 'modern', args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting = new Map<number, (message: { result?: unknown; error?: unknown }) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const message = JSON.parse(line) as { id?: number; result?: unknown; error?: unknown };
    if (typeof message.id === 'number') waiting.get(message.id)?.(message);
  });
  let next = 0;
  const send = (method: string, params: Record<string, unknown>) =>
    new Promise<unknown>((resolve, reject) => {
      const id = ++next;
      waiting.set(id, (message) => {
        waiting.delete(id);
        if (message.error) reject(new Error(JSON.stringify(message.error)));
        else resolve(message.result);
      });
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  const call = async (method: string, params: Record<string, unknown>) => {
    const result = (await send(method, era === 'modern' ? { ...params, _meta: ENVELOPE } : params)) as {
      isError?: boolean;
    };
    // A failing call would be fast: it would not measure the call.
    if (result?.isError) throw new Error(`the line client got a tool error (${era})`);
    return result;
  };
  if (era === 'legacy') {
    await send('initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'bench-lines', version: '1' },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  }
  return { call, pid: child.pid, close: () => child.kill() };
}
