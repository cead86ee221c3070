/**
 * @module The server under test in its own process: the built CLI (`dist/src/cli.js serve`) run with
 * `--expose-gc` and bench/fuzz/heap-probe.mjs preloaded, so the harness can read the heap after a full GC
 * over file descriptor 3 without touching stdout or adding anything to the product. Over stdio it is signed
 * in as a sandbox user (QINDEX_REFRESH_TOKEN, as test/mcp/harness.ts does); over HTTP it runs bearer mode
 * with the data-accessor chain (as test/http/harness.ts configures it, but as a separate process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { CLI, ROOT } from '../../tools/ensure-built.js';
import { configInputFor, type ConfigOverrides } from '../../test/helpers/config.js';
import type { CanaryScanner } from './canary.js';

export const HEAP_PROBE = join(ROOT, 'bench/fuzz/heap-probe.mjs');
/** The CLI under test: the built one, or another build (QINDEX_FUZZ_CLI) to check the harness finds old bugs. */
export const SERVER_CLI = process.env.QINDEX_FUZZ_CLI ?? CLI;

export interface HeapSample {
  gc: boolean;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  kind: 'stdio' | 'http';
  child: ChildProcess;
  stdin: Writable;
  stdout: Readable;
  /** HTTP: the MCP endpoint. */
  url: string;
  /** Set once the process has exited. */
  exit(): ExitInfo | undefined;
  exited: Promise<ExitInfo>;
  /** The heap after full GCs, read over the side channel. */
  heap(timeoutMs?: number): Promise<HeapSample>;
  /** Writes a heap snapshot (after GC) to `file` in the server's process; resolves with its path. */
  snapshot(file: string, timeoutMs?: number): Promise<string>;
  /** The last 16 KiB of stderr, for reports. */
  stderrTail(): string;
  /** Bytes written to stdout (HTTP mode: should stay 0). */
  stdoutBytes(): number;
  stop(): Promise<void>;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

interface SpawnOptions {
  args: string[];
  env: Record<string, string>;
  cwd: string;
  canaries: CanaryScanner;
  /** Extra V8 flags, e.g. a smaller heap for a soak. */
  nodeFlags?: string[];
}

function spawnServer(kind: 'stdio' | 'http', o: SpawnOptions): ServerProcess {
  const child = spawn(
    process.execPath,
    ['--expose-gc', ...(o.nodeFlags ?? []), '--import', HEAP_PROBE, SERVER_CLI, 'serve', ...o.args],
    { env: o.env, cwd: o.cwd, stdio: ['pipe', 'pipe', 'pipe', 'pipe'] },
  );
  let exitInfo: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      resolve(exitInfo);
    });
  });
  let tail = '';
  const scanErr = o.canaries.stream('stderr');
  // QINDEX_FUZZ_STDERR_DIR keeps each server's whole stderr, for digging into a failure.
  const keep = process.env.QINDEX_FUZZ_STDERR_DIR
    ? createWriteStream(join(process.env.QINDEX_FUZZ_STDERR_DIR, `${kind}-${child.pid}.log`))
    : undefined;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    scanErr(chunk);
    keep?.write(chunk);
    tail = (tail + chunk).slice(-16_384);
  });
  let outBytes = 0;
  child.stdout!.on('data', (chunk: Buffer) => {
    outBytes += chunk.length;
  });
  // A write to a dead server is an EPIPE: the exit is what the harness reports, not this.
  child.stdin!.on('error', () => undefined);

  const side = child.stdio[3] as unknown as (Readable & Writable) | undefined;
  const waiters: Array<(s: HeapSample & { snapshot?: string }) => void> = [];
  let pending = '';
  side?.on('error', () => undefined);
  side?.setEncoding('utf8');
  side?.on('data', (chunk: string) => {
    pending += chunk;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      waiters.shift()?.(JSON.parse(line) as HeapSample & { snapshot?: string });
    }
  });

  return {
    kind,
    child,
    stdin: child.stdin!,
    stdout: child.stdout!,
    url: '',
    exit: () => exitInfo,
    exited,
    heap(timeoutMs = 30_000) {
      return new Promise<HeapSample>((resolve, reject) => {
        if (exitInfo || !side) return reject(new Error('server not running'));
        const timer = setTimeout(() => reject(new Error('heap probe did not answer')), timeoutMs);
        waiters.push((s) => {
          clearTimeout(timer);
          resolve(s);
        });
        side.write('heap\n');
      });
    },
    snapshot(file, timeoutMs = 120_000) {
      return new Promise<string>((resolve, reject) => {
        if (exitInfo || !side) return reject(new Error('server not running'));
        const timer = setTimeout(() => reject(new Error('heap probe did not answer')), timeoutMs);
        waiters.push((s) => {
          clearTimeout(timer);
          resolve(s.snapshot ?? '');
        });
        side.write(`snapshot ${file}\n`);
      });
    },
    stderrTail: () => tail,
    stdoutBytes: () => outBytes,
    async stop() {
      if (exitInfo) return;
      child.stdin!.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function tempConfig(input: unknown): Promise<{ dir: string; path: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'qindex-fuzz-'));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(input));
  return { dir, path };
}

export interface StdioServerOptions {
  username?: string;
  canaries: CanaryScanner;
  logLevel?: LogLevel;
  overrides?: ConfigOverrides;
  nodeFlags?: string[];
}

/** `qindex-mcp serve` over stdio, signed in as `username` (idc mode) with a freshly minted refresh token. */
export async function spawnStdioServer(sandbox: Sandbox, o: StdioServerOptions): Promise<ServerProcess> {
  const d = sandbox.description;
  const base = d.modes.idc;
  const username = o.username ?? 'alice';
  const { dir, path } = await tempConfig(configInputFor(d, 'idc', o.overrides ?? {}));
  const refreshToken = await controlClient(d.control).mintRefreshToken({
    username,
    clientId: base.clientId,
  });
  o.canaries.add(`refresh token of ${username}`, refreshToken);
  o.canaries.add('AWS secret key (idc)', base.baseCredentials.secretAccessKey);
  return spawnServer('stdio', {
    args: ['--config', path, '--log-level', o.logLevel ?? 'debug'],
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
    canaries: o.canaries,
    ...(o.nodeFlags ? { nodeFlags: o.nodeFlags } : {}),
  });
}

export interface HttpServerOptions {
  canaries: CanaryScanner;
  logLevel?: LogLevel;
  limits?: Record<string, number>;
  stateless?: boolean;
  nodeFlags?: string[];
}

/** `qindex-mcp serve --transport http --auth bearer` (data-accessor chain) on a free loopback port. */
export async function spawnHttpServer(sandbox: Sandbox, o: HttpServerOptions): Promise<ServerProcess> {
  const d = sandbox.description;
  const base = d.modes.dataAccessor;
  const input = configInputFor(d, 'data-accessor', {
    http: {
      auth: 'bearer',
      port: 0,
      resource: d.mcpResource,
      stateless: o.stateless ?? false,
      ...(o.limits ? { limits: o.limits } : {}),
    },
  });
  const { dir, path } = await tempConfig(input);
  o.canaries.add('AWS secret key (data accessor)', base.baseCredentials.secretAccessKey);
  const server = spawnServer('http', {
    args: ['--transport', 'http', '--config', path, '--log-level', o.logLevel ?? 'debug'],
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_ACCESS_KEY_ID: base.baseCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: base.baseCredentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      QINDEX_CONFIG_DIR: join(dir, 'config'),
    },
    cwd: dir,
    canaries: o.canaries,
    ...(o.nodeFlags ? { nodeFlags: o.nodeFlags } : {}),
  });
  server.url = await endpointOf(server);
  return server;
}

/** The one stderr line naming the endpoint (src/server/http/cli.ts). */
function endpointOf(server: ServerProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no endpoint line:\n${server.stderrTail()}`)), 30_000);
    const onData = (chunk: string) => {
      seen += chunk;
      const m = /qindex-mcp: MCP endpoint (\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        server.child.stderr!.off('data', onData);
        resolve(m[1]!);
      }
    };
    server.child.stderr!.on('data', onData);
    void server.exited.then((e) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${e.code ?? e.signal}) before listening:\n${server.stderrTail()}`));
    });
  });
}
