/**
 * @module Test harness for the stdio wire with no SDK client in between: spawns the built CLI's
 * `serve` for a sandbox user, writes raw bytes to its stdin and collects its stdout lines, so a test can
 * send what no SDK client would (oversized lines, hand-built 2026-07-28 requests) or stop reading stdout
 * (a slow client).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { configInputFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';
import { CLI } from './harness.js';

export interface RawServer {
  child: ChildProcessWithoutNullStreams;
  /** The sandbox refresh token the server signs in with (a canary for output checks). */
  refreshToken: string;
  /** Every complete stdout line so far, in order. */
  lines: string[];
  stderr(): string;
  /** Writes `message` as one JSON line. */
  send(message: unknown): void;
  /** Writes text as is (add the newline yourself); resolves once the child's stdin took it. */
  writeRaw(text: string): Promise<void>;
  /** A request with the next id; resolves to its response. */
  request(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The response with this id (for id === null: the next error without an id). */
  response(id: number | string | null): Promise<Record<string, unknown>>;
  /** Resolves once `check` holds for the stderr text (re-checked on every stderr chunk). */
  stderrUntil(check: (stderr: string) => boolean): Promise<void>;
  nextId(): number;
  close(): void;
}

export async function spawnRaw(
  sandbox: Sandbox,
  options: {
    /** Identity mode (default idc). */
    mode?: SandboxMode;
    overrides?: ConfigOverrides;
    username?: string;
    /** Flags for node before the CLI path (e.g. --expose-gc, --import a probe). */
    nodeArgs?: string[];
    /** Extra pipes after stderr: fd 3, 4, … in the child. */
    extraPipes?: number;
    logLevel?: string;
    /** Send the 2025 initialize handshake first (default true); false leaves the opening to the test. */
    initialize?: boolean;
  } = {},
): Promise<RawServer> {
  const d = sandbox.description;
  const mode = options.mode ?? 'idc';
  const base =
    mode === 'data-accessor' ? d.modes.dataAccessor : mode === 'idc' ? d.modes.idc : d.modes.iamFederation;
  const dir = await mkdtemp(join(tmpdir(), 'qindex-mcp-raw-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(configInputFor(d, mode, options.overrides ?? {})));
  const refreshToken = await controlClient(d.control).mintRefreshToken({
    username: options.username ?? 'alice',
    clientId: base.clientId,
  });
  const args = [CLI, 'serve', '--config', configPath, '--log-level', options.logLevel ?? 'debug'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_ACCESS_KEY_ID: base.baseCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: base.baseCredentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      QINDEX_CONFIG_DIR: join(dir, 'config'),
      QINDEX_REFRESH_TOKEN: refreshToken,
    },
    cwd: dir,
    stdio: ['pipe', 'pipe', 'pipe', ...Array<'pipe'>(options.extraPipes ?? 0).fill('pipe')],
  }) as ChildProcessWithoutNullStreams;
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  let waiters: Array<() => void> = [];
  const wake = () => {
    const woken = waiters;
    waiters = [];
    woken.forEach((w) => w());
  };
  const changed = () => new Promise<void>((r) => waiters.push(r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    wake();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    wake();
  });
  child.on('exit', wake);
  const exited = () => {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited (${child.exitCode ?? child.signalCode}): ${stderr.slice(-2000)}`);
    }
  };

  let seen = 0;
  const unclaimed: Array<Record<string, unknown>> = [];
  const response = async (id: number | string | null) => {
    for (;;) {
      while (seen < lines.length) unclaimed.push(JSON.parse(lines[seen++]!) as Record<string, unknown>);
      const hit = unclaimed.find((m) => (id === null ? !('id' in m) && 'error' in m : m.id === id));
      if (hit) {
        unclaimed.splice(unclaimed.indexOf(hit), 1);
        return hit;
      }
      exited();
      await changed();
    }
  };
  let id = 0;
  const send = (message: unknown) => void child.stdin.write(`${JSON.stringify(message)}\n`);
  const server: RawServer = {
    child,
    refreshToken,
    lines,
    stderr: () => stderr,
    send,
    writeRaw: (text) =>
      new Promise<void>((resolve, reject) => child.stdin.write(text, (e) => (e ? reject(e) : resolve()))),
    nextId: () => ++id,
    request(method, params = {}) {
      const n = ++id;
      send({ jsonrpc: '2.0', id: n, method, params });
      return response(n);
    },
    response,
    async stderrUntil(check) {
      while (!check(stderr)) {
        exited();
        await changed();
      }
    },
    close: () => void child.kill(),
  };
  if (options.initialize === false) return server;
  const init = await server.request('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw-test', version: '1' },
  });
  if (!init.result) throw new Error(`initialize failed: ${JSON.stringify(init)}`);
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  return server;
}
