/**
 * @module Test helper for the fleet proof: real processes on fixed loopback ports, so that one can stop
 * and come back where the balancer expects it: a redis-server, a replica (`serve --transport http
 * --stateless`, run from source with tsx), and HAProxy in front of the replicas with health checks on
 * `/healthz` and L7 retries.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { answersPing } from '../http/redis.js';

/**
 * A free port below Linux's ephemeral range (32768–60999): these processes stop and start again on the
 * same port, and a port from that range, once released, may go to any other test's outgoing connection
 * or `listen(0)` in between (EADDRINUSE on restart). Below it, only an explicit bind can take it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const server = createServer();
    const bound = await new Promise<boolean>((r) => {
      server.once('error', () => r(false));
      server.listen(port, '127.0.0.1', () => r(true));
    });
    if (!bound) continue;
    await new Promise<void>((r) => server.close(() => r()));
    return port;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A redis-server that can be stopped and started again on the same port. */
export function redisAt(port: number) {
  let child: ChildProcess | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
        {
          stdio: 'ignore',
        },
      );
      await until(() => answersPing(port), 'redis');
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    },
  };
}

export interface ReplicaProcess {
  child: ChildProcess;
  stderr: string[];
  exited: Promise<number | null>;
}

/** One replica on `port` (metrics on `metricsPort`), with the configuration file `configPath`. */
export async function startReplica(
  root: string,
  configPath: string,
  port: number,
  metricsPort: number,
  env: Record<string, string>,
): Promise<ReplicaProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'src/cli.ts'),
      'serve',
      '--transport',
      'http',
      '--config',
      configPath,
      '--port',
      String(port),
      '--metrics-port',
      String(metricsPort),
      '--stateless',
    ],
    {
      cwd: root,
      env: { PATH: process.env.PATH!, NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`replica exited: ${stderr.join('')}`);
    return /MCP endpoint/.test(stderr.join(''));
  }, 'replica');
  return { child, stderr, exited };
}

/** HAProxy: round robin over `servers`, checks /healthz every 300 ms (down after two failures), retries a failed connection elsewhere. */
export async function startHaproxy(
  dir: string,
  port: number,
  servers: number[],
): Promise<() => Promise<void>> {
  const cfg = [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 60s',
    '  timeout server 60s',
    // L7 retries: a refused connection (a replica gone or restarting), an empty answer (one killed
    // mid-request) or a 503 (draining) is sent to another replica.
    '  retries 3',
    '  option redispatch 1',
    '  retry-on conn-failure empty-response response-timeout 503',
    'frontend mcp',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    '  timeout check 3s',
    '  default-server inter 300ms fall 2 rise 1',
    ...servers.map((p, i) => `  server r${i} 127.0.0.1:${p} check`),
    '',
  ].join('\n');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, cfg);
  const child = spawn('haproxy', ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
  await until(async () => {
    if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr.join('')}`);
    return fetch(`http://127.0.0.1:${port}/healthz`)
      .then((r) => r.status === 200)
      .catch(() => false);
  }, 'haproxy');
  return async () => {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
}
