/**
 * @module The `serve --transport http` glue: HTTP-only flags (layered over the config file's `http`
 * section), the local context in one-user mode, and a graceful stop on SIGINT/SIGTERM.
 */
import type { QindexConfig } from '../../config/schema.js';
import type { FlagValues } from '../../config/flags.js';
import { withFlags } from '../../config/load.js';
import type { Logger } from '../../log.js';
import { createLocalContext } from '../local-context.js';
import { createMcpServer } from '../mcp.js';
import { startHttpServer } from './app.js';

/** Flags of the HTTP transport, from the one settings table; each overrides its `http.*` field. */
export { httpFlagOptions } from '../../config/flags.js';

export const HTTP_USAGE = `HTTP transport (--transport http):
  --host <addr>          Address to bind (default 127.0.0.1)
  --port <n>             Port (default 8765; 0 picks a free one)
  --auth none|bearer|oauth  none: the profile's signed-in user (default); bearer: a JWT per request;
                         oauth: this server signs MCP clients in at the IdP (its own OAuth server)
  --resource <url>       This server's public URL = the audience bearer tokens must carry
  --stateless            No sessions: any replica serves any request (scale-out)
  --redis-url <url>      Shared encrypted credential cache (key from QINDEX_CACHE_KEY)
  --allowed-origin <o>   An allowed Origin (repeatable); --allowed-host <h> likewise for Host
  --metrics-port <n>     Prometheus /metrics on its own loopback listener (http.metricsHost)
  See docs/http.md.
`;

/**
 * The configuration with the HTTP flags applied, validated by src/config (loadConfig has applied them
 * already for `serve`; applying them again changes nothing).
 */
export function withHttpFlags(config: QindexConfig, values: Record<string, unknown>): QindexConfig {
  return withFlags(config, values as FlagValues);
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
  if (handle.metricsUrl) process.stderr.write(`qindex-mcp: metrics ${handle.metricsUrl}\n`);
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
