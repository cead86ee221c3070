/**
 * The container files, tested without a container runtime (none on these machines): the Dockerfile
 * read as Docker reads it (stages, user, health check, entry command, what .dockerignore lets in), and
 * its entry command run as the container runs it, in the image's /app laid out from the same lock
 * (stageRuntime), against the sandbox in bearer mode. compose.yaml parsed, its HAProxy configuration
 * checked by haproxy itself, then the deployment emulated: HAProxy with that configuration in front of
 * two replicas started with the Compose command and environment, sharing a real redis-server.
 * Not run here: `docker build`, the image's Debian layer, Docker's DNS and networking.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/ensure-built.js';
import { stageRuntime } from '../../tools/bundle.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { run, tempDir } from '../auth/helpers.js';
import { useSandbox } from '../helpers/sandbox.js';
import { startRedis, type RedisServer } from '../http/redis.js';
import {
  awsKeys,
  listAndSearch,
  npmEnv,
  runServer,
  streamableHttp,
  writeSandboxConfig,
  type Running,
} from './helpers.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const token = (username: string) =>
  control().mintAccessToken({ username, clientId: sandbox().description.clients.isv });

interface Instruction {
  op: string;
  args: string;
}

/** Instructions per stage, continuation lines joined, comments dropped (the Dockerfile reference's rules). */
function dockerfileStages(text: string): Instruction[][] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Instruction[][] = [];
  for (const line of lines.map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, op, args] = /^(\w+)\s+(.*)$/.exec(line)!;
    if (op!.toUpperCase() === 'FROM') stages.push([]);
    stages.at(-1)!.push({ op: op!.toUpperCase(), args: args!.replace(/\s+/g, ' ').trim() });
  }
  return stages;
}

const dockerfile = dockerfileStages(await readFile(join(ROOT, 'Dockerfile'), 'utf8'));
const final = dockerfile.at(-1)!;
const one = (op: string) => final.filter((i) => i.op === op).at(-1)?.args;
const entrypoint = JSON.parse(one('ENTRYPOINT')!) as string[];
const cmd = JSON.parse(one('CMD')!) as string[];
const healthcheck = JSON.parse(/\bCMD (\[.*\])$/.exec(one('HEALTHCHECK')!)![1]!) as string[];
const exposed = Number(one('EXPOSE'));
const imageEnv = Object.fromEntries(
  final
    .filter((i) => i.op === 'ENV')
    .flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1]!, m[2]!])),
);

const compose = parseYaml(await readFile(join(ROOT, 'compose.yaml'), 'utf8')) as {
  services: Record<string, Record<string, unknown>>;
  configs: { haproxy: { content: string } };
};
const qindex = compose.services.qindex as {
  build: string;
  command: string;
  environment: Record<string, string>;
  volumes: string[];
  deploy: { replicas: number };
};
const haproxyConfig = compose.configs.haproxy.content;

/** `args` with the value after `--port` replaced (a fixed port could be taken on a shared machine). */
const withPort = (args: string[], port: number) =>
  args.map((a, i) => (args[i - 1] === '--port' ? String(port) : a));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

let home: string;
let app: string;
let config: string;

beforeAll(async () => {
  home = await tempDir('qindex-container-');
  app = join(home, 'app');
  await stageRuntime(app, npmEnv(home));
  const d = sandbox().description;
  // The file the container gets mounted at /config/config.json: bearer mode for the ISV's users.
  config = await writeSandboxConfig(home, sandbox(), 'data-accessor', { http: { resource: d.mcpResource } });
}, 300_000);

/** The container's environment: the image's ENV with the mounted file's path, plus what `docker run -e` adds. */
function containerEnv(extra: Record<string, string>): Record<string, string> {
  expect(imageEnv.QINDEX_CONFIG).toBe('/config/config.json');
  return {
    ...imageEnv,
    QINDEX_CONFIG: config,
    PATH: [join(process.execPath, '..'), '/usr/bin', '/bin'].join(':'),
    HOME: home,
    AWS_EC2_METADATA_DISABLED: 'true',
    ...awsKeys(sandbox(), 'data-accessor'),
    ...extra,
  };
}

/** Starts `args` (entry point + command) in the image's /app; resolves with its port once listening. */
async function startContainer(
  args: string[],
  env: Record<string, string>,
): Promise<{ server: Running; port: number }> {
  const server = runServer(args[0]!, args.slice(1), env, app);
  const [, port] = await server.waitFor(/MCP endpoint http:\/\/[^:]+:(\d+)\//);
  return { server, port: Number(port) };
}

describe('Dockerfile', () => {
  it('builds in stages on node:22-slim, runs as an unprivileged user, health-checks /healthz on its port', () => {
    expect(dockerfile.length).toBeGreaterThanOrEqual(2);
    for (const stage of dockerfile) expect(stage[0]!.args).toMatch(/^node:22-slim\b/);
    const user = one('USER');
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user!.split(':')[0]);
    expect(cmd).toEqual(
      expect.arrayContaining(['--transport', 'http', '--auth', 'bearer', '--host', '0.0.0.0']),
    );
    expect(cmd[cmd.indexOf('--port') + 1]).toBe(String(exposed));
    expect(healthcheck.join(' ')).toContain(`http://127.0.0.1:${exposed}/healthz`);
    // Only the built CLI, its production dependencies and the config schema reach the runtime image.
    const copies = final.filter((i) => i.op === 'COPY').map((i) => i.args.split(' ').slice(0, -1).join(' '));
    expect(copies).toEqual([
      '--from=build /src/package.json',
      '--from=build /src/node_modules',
      '--from=build /src/dist/src',
      'schema/config.schema.json',
    ]);
    expect(dockerfile[0]!.map((i) => i.args).join('\n')).toContain('npm prune --omit=dev');
  });

  it('copies only what .dockerignore lets into the build context', async () => {
    const patterns = (await readFile(join(ROOT, '.dockerignore'), 'utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    const sources = dockerfile
      .flat()
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(' ').slice(0, -1));
    expect(sources.length).toBeGreaterThan(3);
    for (const source of sources) expect(ignored(patterns, source), source).toBe(false);
    for (const secret of [
      '.git/config',
      'node_modules/x',
      'config.json',
      'tools/sandbox/main.ts',
      'src/a.test.ts',
    ])
      expect(ignored(patterns, secret), secret).toBe(true);
  });

  it('its command, run as the container runs it, serves bearer requests, passes its health check, stops on SIGTERM', async () => {
    const { server, port } = await startContainer(withPort([...entrypoint, ...cmd], 0), containerEnv({}));
    try {
      const health = await run(healthcheck[0]!, withPortInUrl(healthcheck.slice(1), port), containerEnv({}), {
        cwd: app,
      });
      expect(health.code, health.stderr).toBe(0);
      const url = `http://127.0.0.1:${port}/mcp`;
      const anonymous = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toContain('resource_metadata=');
      const result = await listAndSearch(streamableHttp(url, await token('alice')));
      expect(result.tools).toEqual(['search_relevant_content', 'whoami']);
      expect(result.isError, result.text).toBe(false);
      expect(result.text).toContain('[1]');
    } finally {
      expect(await server.stop()).toBe(0);
    }
  }, 60_000);
});

describe('compose.yaml', () => {
  it('parses to two stateless replicas of this image, Redis for the shared cache and HAProxy checking /healthz', async () => {
    expect(Object.keys(compose.services).sort()).toEqual(['lb', 'qindex', 'redis']);
    expect(qindex.build).toBe('.');
    expect(qindex.deploy.replicas).toBe(2);
    expect(qindex.command.split(' ')).toEqual([...cmd, '--stateless']);
    expect(qindex.environment.QINDEX_REDIS_URL).toMatch(/^redis:\/\/redis:\d+$/);
    expect(qindex.environment.QINDEX_CACHE_KEY).toMatch(/^\$\{QINDEX_CACHE_KEY:\?/);
    expect(qindex.volumes).toContain(`./config.json:${imageEnv.QINDEX_CONFIG}:ro`);
    expect((compose.services.redis as { image: string }).image).toMatch(/^redis:/);
    const lb = compose.services.lb as { image: string; ports: string[] };
    expect(lb.image).toMatch(/^haproxy:/);
    expect(lb.ports).toContain(`${exposed}:${exposed}`);
    expect(haproxyConfig).toContain(`bind :${exposed}`);
    expect(haproxyConfig).toContain('option httpchk GET /healthz');
    expect(haproxyConfig).toMatch(
      new RegExp(`server-template qindex ${qindex.deploy.replicas} qindex:${exposed} `),
    );
    const file = join(home, 'haproxy-check.cfg');
    await writeFile(file, haproxyConfig);
    const check = await run('haproxy', ['-c', '-f', file], { PATH: process.env.PATH });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  describe('the deployment, emulated without Docker', () => {
    let redis: RedisServer;
    const running: Running[] = [];
    beforeAll(async () => {
      redis = await startRedis();
    });
    afterAll(async () => {
      await Promise.all(running.map((r) => r.stop()));
      await redis?.stop();
    });

    it('HAProxy with its configuration spreads one user over both replicas, which make one exchange', async () => {
      // The Compose environment, interpolated from the shell's as `docker compose up` does; the service
      // name `redis` is this test's redis-server.
      const shell = {
        QINDEX_CACHE_KEY: randomBytes(32).toString('base64'),
        ...awsKeys(sandbox(), 'data-accessor'),
      };
      const environment = Object.fromEntries(
        Object.entries(qindex.environment).map(([k, v]) => [
          k,
          interpolate(v, shell).replace('redis://redis:6379', redis.url),
        ]),
      );
      expect(environment.AWS_SESSION_TOKEN).toBe('');
      // Only to see which replica served which request (one debug line per request).
      const env = containerEnv({ ...environment, QINDEX_LOG_LEVEL: 'debug' });
      const args = withPort([...entrypoint, ...qindex.command.split(' ')], 0);
      const replicas = await Promise.all([startContainer(args, env), startContainer(args, env)]);
      running.push(...replicas.map((r) => r.server));

      // The Compose file's HAProxy configuration; Docker's DNS lookup becomes the two replicas' addresses.
      const lbPort = await freePort();
      const cfg = haproxyConfig
        .replace(`bind :${exposed}`, `bind 127.0.0.1:${lbPort}`)
        .replace(
          /server-template .*/,
          replicas.map((r, i) => `server qindex${i + 1} 127.0.0.1:${r.port} check inter 1s`).join('\n  '),
        );
      const cfgFile = join(home, 'haproxy.cfg');
      await writeFile(cfgFile, cfg);
      const lb = runServer('haproxy', ['-db', '-f', cfgFile], { PATH: process.env.PATH ?? '' });
      running.push(lb);
      await until(
        async () => (await fetch(`http://127.0.0.1:${lbPort}/healthz`).catch(() => undefined))?.ok === true,
      );

      const exchanges = async () => (await control().counters())['sso-oauth:CreateTokenWithIAM'] ?? 0;
      const before = await exchanges();
      const bearer = await token('bob');
      for (let i = 0; i < 3; i++) {
        const result = await listAndSearch(
          streamableHttp(`http://127.0.0.1:${lbPort}/mcp`, bearer),
          'audit procedure',
        );
        expect(result.isError, result.text).toBe(false);
      }
      // Round robin: both replicas served (a request line each), yet the shared cache kept it to one exchange.
      for (const r of replicas) expect(r.server.output()).toMatch(/"msg":"request"/);
      expect((await exchanges()) - before).toBe(1);
    }, 90_000);
  });
});

/** Docker's ignore rules for this file's patterns: the last matching line wins, `!` lets a path in. */
function ignored(patterns: string[], path: string): boolean {
  let result = false;
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const pattern = (negate ? raw.slice(1) : raw).replace(/\/$/, '');
    // `**/` is any number of directories (none too), `*` anything within one.
    const regex = new RegExp(
      `^${pattern
        .split('**/')
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
        .join('(?:.*/)?')}(/.*)?$`,
    );
    if (regex.test(path)) result = !negate;
  }
  return result;
}

/** Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}` against the shell's variables. */
function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(
    /\$\{(\w+)(?::([-?])([^}]*))?\}/g,
    (_m, name: string, kind?: string, rest?: string) => {
      const set = shell[name];
      if (set) return set;
      if (kind === '?') throw new Error(`compose: ${name} is required: ${rest}`);
      return kind === '-' ? (rest ?? '') : '';
    },
  );
}

function withPortInUrl(args: string[], port: number): string[] {
  return args.map((a) => a.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`));
}

async function until(ready: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await ready()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('not ready after 20 s');
}
