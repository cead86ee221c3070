/**
 * @module The `serve --transport http` glue: HTTP-only flags (layered over the config file's `http`
 * section), the local context in one-user mode, and a graceful stop on SIGINT/SIGTERM.
 */
import type { ParseArgsConfig } from 'node:util';
import type { QindexConfig } from '../../config/schema.js';
import { HttpSchema } from '../../config/http.js';
import { QindexError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { createLocalContext } from '../local-context.js';
import { createMcpServer } from '../mcp.js';
import { startHttpServer } from './app.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags of the HTTP transport; each overrides the same `http.*` setting of the configuration file. */
export const httpFlagOptions: Options = {
  host: { type: 'string' },
  port: { type: 'string' },
  auth: { type: 'string' },
  resource: { type: 'string' },
  stateless: { type: 'boolean' },
  'redis-url': { type: 'string' },
  'allowed-origin': { type: 'string', multiple: true },
  'allowed-host': { type: 'string', multiple: true },
};

export const HTTP_USAGE = `HTTP transport (--transport http):
  --host <addr>          Address to bind (default 127.0.0.1)
  --port <n>             Port (default 8765; 0 picks a free one)
  --auth none|bearer     none: the profile's signed-in user (default); bearer: a JWT per request
  --resource <url>       This server's public URL = the audience bearer tokens must carry
  --stateless            No sessions: any replica serves any request (scale-out)
  --redis-url <url>      Shared encrypted credential cache (key from QINDEX_CACHE_KEY)
  --allowed-origin <o>   An allowed Origin (repeatable); --allowed-host <h> likewise for Host
  See docs/http.md.
`;

/** The configuration with the HTTP flags applied and the http section validated. */
export function withHttpFlags(
  config: QindexConfig,
  values: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): QindexConfig {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const list = (k: string) => (Array.isArray(values[k]) ? (values[k] as string[]) : undefined);
  const port = str('port');
  if (port !== undefined && !/^\d+$/.test(port)) {
    throw new QindexError('config_invalid', `--port must be a number, got "${port}".`);
  }
  const input = {
    ...config.http,
    ...(str('host') ? { host: str('host') } : {}),
    ...(port !== undefined ? { port: Number(port) } : {}),
    ...(str('auth') ? { auth: str('auth') } : {}),
    ...(str('resource') ? { resource: str('resource') } : {}),
    ...(values.stateless === true ? { stateless: true } : {}),
    ...((str('redis-url') ?? env.QINDEX_REDIS_URL)
      ? { redisUrl: str('redis-url') ?? env.QINDEX_REDIS_URL }
      : {}),
    ...(list('allowed-origin') ? { allowedOrigins: list('allowed-origin') } : {}),
    ...(list('allowed-host') ? { allowedHosts: list('allowed-host') } : {}),
  };
  const parsed = HttpSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new QindexError('config_invalid', `http.${issue.path.join('.')}: ${issue.message}.`, {
      remedy: 'Fix the flag or the http section of the configuration file (docs/http.md).',
    });
  }
  return { ...config, http: parsed.data };
}

/** Serves until SIGINT/SIGTERM, then finishes in-flight calls and exits 0. */
export async function runHttpTransport(
  config: QindexConfig,
  values: Record<string, unknown>,
  deps: { logger: Logger },
): Promise<number> {
  const cfg = withHttpFlags(config, values);
  const local = cfg.http!.auth === 'none' ? createLocalContext(cfg, { logger: deps.logger }) : undefined;
  const handle = await startHttpServer(cfg, {
    logger: deps.logger,
    createServer: createMcpServer,
    ...(local ? { localContext: local } : {}),
  });
  // The one line on stderr a person or a supervisor reads to find the endpoint.
  process.stderr.write(`qindex-mcp: MCP endpoint ${handle.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await handle.close();
  local?.dispose();
  return 0;
}
