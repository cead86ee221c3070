/**
 * @module Test helper for the HTTP transport: starts the real server (real createMcpServer, real tools,
 * real identity exchange against the sandbox) and connects MCP SDK clients with bearer tokens, in
 * either protocol era (a 2025-11-25 client by default).
 */
import {
  Client,
  StreamableHTTPClientTransport,
  type ClientCapabilities,
  type FetchLike,
} from '@modelcontextprotocol/client';
import { negotiation, type Era } from '../helpers/eras.js';
import type { QindexConfig } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import { createMcpServer } from '../../src/server/mcp.js';
import { startHttpServer, type HttpServerDeps, type HttpServerHandle } from '../../src/server/http/app.js';
import { withHttpFlags } from '../../src/server/http/cli.js';
import { createLocalContext } from '../../src/server/local-context.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { configFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';

export const silent = createLogger({ level: 'silent' });

/** A bearer-mode configuration against the sandbox (resource = the sandbox's MCP resource). */
export function bearerConfig(
  sandbox: Sandbox,
  mode: SandboxMode = 'data-accessor',
  overrides: ConfigOverrides = {},
): QindexConfig {
  const d = sandbox.description;
  return configFor(d, mode, {
    ...overrides,
    http: { auth: 'bearer', port: 0, resource: d.mcpResource, ...overrides.http },
  });
}

export function baseCredentialsFor(sandbox: Sandbox, mode: SandboxMode) {
  const m = sandbox.description.modes;
  return (mode === 'idc' ? m.idc : mode === 'data-accessor' ? m.dataAccessor : m.iamFederation)
    .baseCredentials;
}

export async function startBearerServer(
  sandbox: Sandbox,
  config: QindexConfig,
  deps: Partial<HttpServerDeps> = {},
): Promise<HttpServerHandle> {
  const mode = config.mode.type;
  return startHttpServer(config, {
    logger: silent,
    createServer: createMcpServer,
    baseCredentials: baseCredentialsFor(sandbox, mode),
    ...deps,
  });
}

/** An MCP client connected with `Authorization: Bearer <token>`. */
export async function connect(
  url: string,
  token: string | undefined,
  options: { sessionId?: string; fetch?: FetchLike; era?: Era; capabilities?: ClientCapabilities } = {},
): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const client = new Client(
    { name: 'http-test', version: '1.0.0' },
    { capabilities: options.capabilities ?? {}, ...negotiation(options.era ?? 'legacy') },
  );
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token ? { headers: { Authorization: `Bearer ${token}` } } : {},
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  await client.connect(transport);
  return { client, transport };
}

export interface SearchOutcome {
  isError: boolean;
  titles: string[];
  text: string;
}

export async function search(client: Client, query: string, maxResults = 20): Promise<SearchOutcome> {
  const result = await client.callTool({ name: 'search_relevant_content', arguments: { query, maxResults } });
  const structured = result.structuredContent as { passages?: Array<{ title: string }> } | undefined;
  const text = (result.content as Array<{ type: string; text?: string }>).map((c) => c.text ?? '').join('\n');
  return { isError: result.isError === true, titles: (structured?.passages ?? []).map((p) => p.title), text };
}

/** A raw JSON-RPC POST to the endpoint, for status-code checks the SDK client hides. */
export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export const initializeBody = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/**
 * A local-mode server signed in as alice and a bearer-mode server (`mode`), side by side on free ports,
 * for tests that compare what each answers; `close()` stops both.
 */
export async function startLocalAndBearer(sandbox: Sandbox, mode?: SandboxMode) {
  const d = sandbox.description;
  const refreshToken = await controlClient(d.control).mintRefreshToken({ username: 'alice' });
  const config = withHttpFlags(configFor(d, 'idc'), { port: '0' });
  const localCtx = createLocalContext(config, {
    logger: silent,
    env: { QINDEX_REFRESH_TOKEN: refreshToken },
  });
  process.env.AWS_ACCESS_KEY_ID = d.modes.idc.baseCredentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = d.modes.idc.baseCredentials.secretAccessKey;
  const [local, bearer] = await Promise.all([
    startHttpServer(config, { logger: silent, createServer: createMcpServer, localContext: localCtx }),
    startBearerServer(sandbox, bearerConfig(sandbox, mode)),
  ]);
  return {
    local,
    bearer,
    async close() {
      await Promise.all([local.close(), bearer.close()]);
      localCtx.dispose();
    },
  };
}
