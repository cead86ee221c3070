/**
 * @module `qindex-mcp serve`: runs the MCP server for the signed-in user of a profile. The MCP client
 * (Claude Desktop, VS Code, …) starts it; `--transport stdio` is the default.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { commonFlagOptions, httpFlagOptions } from '../config/flags.js';
import { createLogger, type LogLevel } from '../log.js';
import { createMcpServer } from '../server/mcp.js';
import { createDeferredContext } from '../server/deferred-context.js';
import { serveStdio } from '../server/stdio.js';
import { startProcessTelemetry } from '../telemetry/process.js';
import { nodeSupportNotice, type CommandRunner } from './index.js';

/** The usage text; the HTTP part comes with the HTTP transport's module, loaded only when asked for. */
const usage =
  async () => `Usage: qindex-mcp serve [--transport stdio] [--profile <name>] [--config <file>] [options]

Runs the MCP server acting for the signed-in user of the profile (sign in first with
\`qindex-mcp login\`). Over stdio, stdout carries JSON-RPC only; logs go to stderr.

Options:
  --transport stdio|http How MCP clients connect (default stdio)
  --profile <name>      Login profile (default "default")
  --config <file>       Configuration file (default: the per-user config path, or QINDEX_CONFIG)
  --log-level <level>   trace, debug, info, warn, error or silent
  Every configuration setting also has a flag; see docs/configuration.md.

${(await import('../server/http/cli.js')).HTTP_USAGE}`;

export const serve: CommandRunner = {
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        ...commonFlagOptions,
        ...httpFlagOptions,
        transport: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(await usage());
      return 0;
    }
    const transport = (values.transport as string | undefined) ?? 'stdio';
    const config = await loadConfig({ flags: values }, { require: 'all' });
    const logger = createLogger({ level: config.logging.level as LogLevel });
    const notice = nodeSupportNotice();
    if (notice) logger.warn(notice);
    switch (transport) {
      case 'stdio': {
        // The sign-in, identity and AWS stack loads once the handshake is answered, or on first use.
        const ctx = createDeferredContext(config, { logger });
        await startProcessTelemetry(config.http?.audit);
        try {
          await serveStdio((era) => createMcpServer(ctx, { era }), { logger, onAnswered: () => ctx.warm() });
        } finally {
          ctx.dispose();
          // The client hung up: exit soon even if a lingering socket or timer would keep Node alive.
          setTimeout(() => process.exit(), 300).unref();
        }
        return 0;
      }
      case 'http':
        return (await import('../server/http/cli.js')).runHttpTransport(config, values, { logger });
      default:
        process.stderr.write(`Unknown transport "${transport}". Use: stdio or http.\n\n${await usage()}`);
        return 2;
    }
  },
};
