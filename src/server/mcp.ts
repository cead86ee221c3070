/**
 * @module createMcpServer(): an McpServer with the mode's tools registered over one ToolContext, for
 * either protocol era: 2025-11-25 (initialize, sessions) or 2026-07-28 (stateless, `_meta` envelope on
 * every request). The serving entries (stdio.ts, http/endpoint.ts) build one per connection or request
 * and say which era it serves; the tools, the error wrapper and the output schemas are the same for
 * both. Logs go to the stderr logger and to the client as MCP logging notifications, as the era allows.
 */
import { readFileSync } from 'node:fs';
import {
  McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type CallToolResult,
  type LoggingLevel,
} from '@modelcontextprotocol/server';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/server/validators/ajv';
import { toolCallback, type Extra, type McpLog } from '../tools/define-tool.js';
import { argumentsProblem } from '../tools/input-bounds.js';
import { FILTER_EXAMPLE } from '../tools/attribute-filter.js';
import { toolsForMode, type ToolDefinition } from '../tools/index.js';
import { publishedTool } from '../tools/published.js';
import { createSeenDocuments } from '../tools/seen-documents.js';
import type { ToolContext } from '../tools/context.js';
import type { Logger } from '../log.js';
import { legacySignIn, modernSignIn, requestStateCodec } from './sign-in.js';

/** 'legacy': MCP 2025-11-25 and earlier (initialize, sessions); 'modern': 2026-07-28 (stateless). */
export type ProtocolEra = 'legacy' | 'modern';

export interface McpServerOptions {
  /** Which protocol era the instance serves (default legacy): the serving entry knows. */
  era?: ProtocolEra;
  /** Server name in the initialize and server/discover results (default `qindex-mcp`). */
  name?: string;
}

const INSTRUCTIONS = [
  "Tools over the company's Amazon Q Business index, acting as the signed-in user: results contain only documents this user may read.",
  'Start with search_relevant_content for passages or chat for a synthesized answer; cite sources by their [n] numbers;',
  'read a whole document with get_document. whoami tells whose permissions apply.',
].join(' ');

/**
 * The tool list depends on the mode (a deployment setting), never on who asks: clients may cache it
 * for an hour and share it between users (2026-07-28 cache hints; 2025 responses carry none).
 */
const TOOLS_LIST_CACHE = { ttlMs: 3_600_000, cacheScope: 'public' } as const;

/** One validator for every instance: HTTP builds an McpServer per request in the 2026 era. */
const validator = new AjvJsonSchemaValidator();

export function createMcpServer(ctx: ToolContext, options: McpServerOptions = {}): McpServer {
  const era = options.era ?? 'legacy';
  const server = new McpServer(
    { name: options.name ?? 'qindex-mcp', title: 'Amazon Q Business index', version: version() },
    {
      // listChanged false: the list is fixed per mode (the SDK would otherwise announce changes).
      capabilities: { logging: {}, tools: { listChanged: false } },
      instructions: INSTRUCTIONS,
      cacheHints: { 'tools/list': TOOLS_LIST_CACHE },
      jsonSchemaValidator: validator,
      requestState: { verify: requestStateCodec.verify },
    },
  );
  // Per request: 2025 filters by the session's logging/setLevel, 2026 sends only at the level the
  // request's _meta asks for (and nothing when it asks for none).
  const log: McpLog = (level: LoggingLevel, data, extra: Extra) => {
    extra.mcpReq.log(level, data, 'qindex-mcp').catch(() => undefined);
  };
  const signIn =
    era === 'modern'
      ? (extra: Extra) => modernSignIn(ctx, extra)
      : (extra: Extra) => legacySignIn(ctx, server.server, extra);
  const tools = toolsForMode(ctx.config.mode.type);
  const documents = createSeenDocuments();
  for (const def of tools) {
    const published = publishedTool(def);
    const registered = server.registerTool(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: def.inputSchema,
        outputSchema: def.outputSchema,
        annotations: def.annotations,
      },
      toolCallback(def, ctx, { log, documents, signIn }) as never,
    );
    seedSchemas(server, registered, published);
  }
  // Our compact schemas instead of the SDK's rendering of the same zod (see tools/published.ts).
  const listed = tools.map(publishedTool);
  server.server.setRequestHandler('tools/list', () => ({ tools: listed }));
  guardToolCalls(server, new Map(tools.map((t) => [t.name, t])), ctx.logger);
  readableParamErrors(server);
  server.server.onerror = (error) => ctx.logger.warn({ err: error.message }, 'MCP protocol error');
  return server;
}

/**
 * Hands the SDK the JSON Schemas it would otherwise convert from zod on first use in every instance
 * (per request in the 2026 era over HTTP): the ones tools/list publishes, made once per process. The
 * output schema decides how the SDK frames structured results; the input schema is what the HTTP entry
 * scans for header-mapped arguments before dispatch.
 */
function seedSchemas(
  server: McpServer,
  registered: { outputSchemaJson?: Record<string, unknown> },
  published: ReturnType<typeof publishedTool>,
): void {
  if (published.outputSchema) registered.outputSchemaJson = published.outputSchema;
  const inputs = (server as unknown as { _toolInputSchemaJson?: Record<string, unknown> })
    ._toolInputSchemaJson;
  if (inputs && typeof inputs === 'object') inputs[published.name] = published.inputSchema;
}

type Handler = (request: { params?: { name?: unknown } }, extra: unknown) => Promise<unknown>;

/**
 * Checks in front of the SDK's own tools/call handler, which would otherwise see the request first:
 * - a malformed request (arguments an array or a string, no name) is a -32602 with a readable message,
 *   not the SDK's -32602 with a raw zod dump;
 * - an unknown tool is a JSON-RPC error (-32602, as the SDK answers it too) that names the tools there are;
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
    if (typeof name !== 'string') {
      throw invalidParams(
        `Invalid tools/call request: params.name must name the tool (a string); it is ${kindOf(name)}.`,
      );
    }
    const given = (args ?? {}) as Record<string, unknown>;
    const problem = argumentsProblem(given);
    if (problem) {
      logger.warn({ tool: name }, 'refused tool arguments before parsing');
      return inputError(name, problem);
    }
    const checked = tools.get(name)?.inputSchema.safeParse(given);
    if (checked && !checked.success) {
      logger.info({ tool: name }, 'refused tool arguments');
      return inputError(name, argumentIssues(checked.error.issues));
    }
    return original(request, extra);
  });
}

/**
 * The SDK checks each request against its schema inside the registered handler and answers a failure
 * as -32603 with the raw zod dump (initialize with a numeric protocolVersion, logging/setLevel
 * with an unknown level): make those the -32602 a client can act on, in one sentence.
 */
function readableParamErrors(server: McpServer): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, Handler> })._requestHandlers;
  if (!handlers) return;
  for (const [method, handler] of handlers) {
    handlers.set(method, async (request, extra) => {
      try {
        return await handler(request, extra);
      } catch (e) {
        const issues = schemaIssues(e);
        if (issues) throw invalidParams(`Invalid ${method} request: ${describeIssues(issues)}.`);
        throw e;
      }
    });
  }
}

/** The issues of the SDK's failed params check: a plain Error whose message is zod's JSON issue list. */
function schemaIssues(e: unknown): Array<{ path: PropertyKey[]; message: string }> | undefined {
  if (!(e instanceof Error) || e instanceof ProtocolError || !e.message.startsWith('[')) return undefined;
  try {
    const issues = JSON.parse(e.message) as unknown;
    const valid =
      Array.isArray(issues) &&
      issues.length > 0 &&
      issues.every((i) => Array.isArray(i?.path) && typeof i?.message === 'string');
    return valid ? (issues as Array<{ path: PropertyKey[]; message: string }>) : undefined;
  } catch {
    return undefined;
  }
}

const invalidParams = (message: string) => new ProtocolError(ProtocolErrorCode.InvalidParams, message);

/** Worded like the SDK's own input validation errors, so that an agent sees one kind of message. */
export const inputErrorText = (tool: string, problem: string) =>
  `Input validation error: Invalid arguments for tool ${tool}: ${problem}`;

const inputError = (tool: string, problem: string): CallToolResult => ({
  content: [{ type: 'text', text: inputErrorText(tool, problem) }],
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
  Array.isArray(value)
    ? 'an array'
    : value === null
      ? 'null'
      : value === undefined
        ? 'missing'
        : `a ${typeof value}`;

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
