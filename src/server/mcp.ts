/**
 * @module createMcpServer(): an McpServer with the mode's tools registered over one ToolContext.
 * Transport-agnostic: stdio.ts (and the HTTP transport) connect it. Logs go to the stderr logger and,
 * once connected, to the client as MCP logging notifications.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, type LoggingLevel } from '@modelcontextprotocol/sdk/types.js';
import { toolCallback, type McpLog, type ServerHooks } from '../tools/define-tool.js';
import { toolsForMode } from '../tools/index.js';
import type { ToolContext } from '../tools/context.js';

export interface McpServerOptions {
  /** Server name in the initialize result (default `qindex-mcp`). */
  name?: string;
}

const INSTRUCTIONS = [
  "Tools over the company's Amazon Q Business index, acting as the signed-in user: results contain only documents this user may read.",
  'Start with search_relevant_content for passages or chat for a synthesized answer; cite sources by their [n] numbers;',
  'read a whole document with get_document. whoami tells whose permissions apply.',
].join(' ');

export function createMcpServer(ctx: ToolContext, options: McpServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: options.name ?? 'qindex-mcp', title: 'Amazon Q Business index', version: version() },
    { capabilities: { logging: {} }, instructions: INSTRUCTIONS },
  );
  const log: McpLog = (level: LoggingLevel, data) => {
    if (!server.isConnected()) return;
    server.sendLoggingMessage({ level, logger: 'qindex-mcp', data }).catch(() => undefined);
  };
  const elicitUrl: ServerHooks['elicitUrl'] = async (request, extra) => {
    if (!server.server.getClientCapabilities()?.elicitation?.url) return undefined;
    const elicitationId = randomUUID();
    const result = await server.server.elicitInput(
      { mode: 'url', elicitationId, ...request },
      // The user needs time to sign in; the tool call itself stays cancellable.
      { relatedRequestId: extra.requestId, signal: extra.signal, timeout: 600_000 },
    );
    return {
      action: result.action,
      complete: server.server.createElicitationCompletionNotifier(elicitationId),
    };
  };
  const tools = toolsForMode(ctx.config.mode.type);
  for (const def of tools) {
    server.registerTool(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: def.inputSchema,
        outputSchema: def.outputSchema,
        annotations: { title: def.title, ...def.annotations },
      },
      toolCallback(def, ctx, { log, elicitUrl }) as never,
    );
  }
  unknownToolsAsProtocolErrors(server, new Set(tools.map((t) => t.name)));
  server.server.onerror = (error) => ctx.logger.warn({ err: error.message }, 'MCP protocol error');
  return server;
}

type Handler = (request: { params?: { name?: unknown } }, extra: unknown) => Promise<unknown>;

/**
 * The MCP spec (2025-11-25) answers a call to an unknown tool with a JSON-RPC error (-32602), but SDK
 * 1.x returns an `isError` result. Put a check in front of the SDK's own tools/call handler.
 */
function unknownToolsAsProtocolErrors(server: McpServer, names: Set<string>): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  const original = handlers?.get('tools/call');
  if (!handlers || !original) return;
  handlers.set('tools/call', (request, extra) => {
    const name = request.params?.name;
    if (typeof name === 'string' && !names.has(name)) {
      // A plain error with a code: McpError would prefix "MCP error -32602:" to the message twice.
      const message = `Unknown tool "${name}". Available tools: ${[...names].join(', ')}.`;
      throw Object.assign(new Error(message), { code: ErrorCode.InvalidParams });
    }
    return original(request, extra);
  });
}

let cachedVersion: string | undefined;
/** The package version, from src/ (tsx) or dist/src/ (built). */
function version(): string {
  if (cachedVersion) return cachedVersion;
  cachedVersion = '0.0.0';
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'qindex-mcp' && pkg.version) cachedVersion = pkg.version;
    } catch {
      // not at this level
    }
  }
  return cachedVersion;
}
