/**
 * @module createMcpServer(): an McpServer with the mode's tools registered over one ToolContext.
 * Transport-agnostic: stdio.ts (and the HTTP transport) connect it. Logs go to the stderr logger and,
 * once connected, to the client as MCP logging notifications.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  type CallToolResult,
  type LoggingLevel,
} from '@modelcontextprotocol/sdk/types.js';
import { toolCallback, type McpLog, type ServerHooks } from '../tools/define-tool.js';
import { argumentsProblem } from '../tools/input-bounds.js';
import { FILTER_EXAMPLE } from '../tools/attribute-filter.js';
import { toolsForMode, type ToolDefinition } from '../tools/index.js';
import { publishedTool } from '../tools/published.js';
import { createSeenDocuments } from '../tools/seen-documents.js';
import type { ToolContext } from '../tools/context.js';
import type { Logger } from '../log.js';

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
  const canElicitUrl = () => Boolean(server.server.getClientCapabilities()?.elicitation?.url);
  const elicitUrl: ServerHooks['elicitUrl'] = async (request, extra) => {
    if (!canElicitUrl()) return undefined;
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
  const documents = createSeenDocuments();
  for (const def of tools) {
    server.registerTool(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: def.inputSchema,
        outputSchema: def.outputSchema,
        annotations: def.annotations,
      },
      toolCallback(def, ctx, { log, documents, canElicitUrl, elicitUrl }) as never,
    );
  }
  // Our compact schemas instead of the SDK's rendering of the same zod (see tools/published.ts).
  const listed = tools.map(publishedTool);
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: listed }));
  guardToolCalls(server, new Map(tools.map((t) => [t.name, t])), ctx.logger);
  server.server.onerror = (error) => ctx.logger.warn({ err: error.message }, 'MCP protocol error');
  return server;
}

type Handler = (request: { params?: { name?: unknown } }, extra: unknown) => Promise<unknown>;

/**
 * Checks in front of the SDK's own tools/call handler, which would otherwise see the request first:
 * - a malformed request (arguments an array or a string, no name) is a -32602 with a readable message,
 *   not the SDK's -32603 with a raw zod dump;
 * - an unknown tool is a JSON-RPC error (-32602), as the MCP spec (2025-11-25) says; SDK 1.x returns
 *   an `isError` result;
 * - arguments whose parse could exhaust the stack or leak (a too-deep attributeFilter) or reach AWS
 *   as a URIError (a lone surrogate) get an `isError` result naming the field, before the SDK's
 *   recursive zod parse of the input schema runs;
 * - arguments the input schema refuses get the same `isError` result the SDK would give, plus an
 *   example of a valid filter when the attributeFilter is what is wrong.
 */
function guardToolCalls(server: McpServer, tools: Map<string, ToolDefinition>, logger: Logger): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  const original = handlers?.get('tools/call');
  if (!handlers || !original) return;
  handlers.set('tools/call', async (request, extra) => {
    const name = request.params?.name;
    if (typeof name === 'string' && !tools.has(name)) {
      throw invalidParams(`Unknown tool "${name}". Available tools: ${[...tools.keys()].join(', ')}.`);
    }
    const args = (request.params as { arguments?: unknown } | undefined)?.arguments;
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      throw invalidParams(
        `Invalid tools/call request: "arguments" must be a JSON object of argument names to values, not ${kindOf(args)}.`,
      );
    }
    const parsed = CallToolRequestSchema.safeParse(request);
    if (!parsed.success) {
      throw invalidParams(`Invalid tools/call request: ${describeIssues(parsed.error.issues)}.`);
    }
    const given = parsed.data.params.arguments ?? {};
    const problem = argumentsProblem(given);
    if (problem) {
      logger.warn({ tool: name }, 'refused tool arguments before parsing');
      return inputError(parsed.data.params.name, problem);
    }
    const checked = tools.get(parsed.data.params.name)?.inputSchema.safeParse(given);
    if (checked && !checked.success) {
      logger.info({ tool: name }, 'refused tool arguments');
      return inputError(parsed.data.params.name, argumentIssues(checked.error.issues));
    }
    return original(request, extra);
  });
}

/** A plain error with a code: McpError would prefix "MCP error -32602:" to the message twice. */
const invalidParams = (message: string) =>
  Object.assign(new Error(message), { code: ErrorCode.InvalidParams });

/** Worded like the SDK's own input validation errors, so that an agent sees one kind of message. */
const inputError = (tool: string, problem: string): CallToolResult => ({
  content: [{ type: 'text', text: `Input validation error: Invalid arguments for tool ${tool}: ${problem}` }],
  isError: true,
});

/** The schema's complaints, with the shape expected when the attribute filter is what is wrong. */
function argumentIssues(issues: Array<{ path: PropertyKey[]; message: string }>): string {
  const filter = issues.some((issue) => issue.path[0] === 'attributeFilter');
  const shape = filter
    ? ` A valid attributeFilter: ${FILTER_EXAMPLE} (one operator per object; combine with andAllFilters, orAllFilters, notFilter).`
    : '';
  return `${describeIssues(issues)}.${shape}`;
}

const kindOf = (value: unknown) =>
  Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;

/** "params.name: Invalid input: expected string, received undefined", for at most three issues. */
const describeIssues = (issues: Array<{ path: PropertyKey[]; message: string }>) =>
  issues
    .slice(0, 3)
    .map((issue) => (issue.path.length ? `${pathText(issue.path)}: ${issue.message}` : issue.message))
    .join('; ');

/** `attributeFilter.andAllFilters[0].equalsTo`, as input-bounds.ts names fields. */
const pathText = (path: PropertyKey[]) =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('');

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
