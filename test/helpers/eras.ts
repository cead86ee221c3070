/**
 * @module The two MCP protocol eras the server speaks, as test clients choose them: 'legacy' is a
 * 2025-11-25 client (initialize, sessions), 'modern' a 2026-07-28 one (server/discover, the `_meta`
 * envelope on every request, no sessions).
 */
export type Era = 'legacy' | 'modern';
export const ERAS: Era[] = ['legacy', 'modern'];
export const MODERN = '2026-07-28';

/** Client options for `era`: the SDK's default is the 2025 handshake; modern pins the 2026 revision. */
export const negotiation = (era: Era) =>
  era === 'modern' ? { versionNegotiation: { mode: { pin: MODERN } } } : {};

/** The `_meta` keys of a 2026-07-28 request. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
} as const;

/** The `_meta` envelope a raw 2026-07-28 request carries. */
export const envelope = (capabilities: Record<string, unknown> = {}, version = MODERN) => ({
  [META.protocolVersion]: version,
  [META.clientCapabilities]: capabilities,
  [META.clientInfo]: { name: 'raw-test', version: '1' },
});

/**
 * The SDK client's complaint when a progress notification is dispatched after its call's result (SDK
 * issue #2580): the client forgot the token a microtask too early. Tests filter it from client errors.
 */
export const UNKNOWN_PROGRESS = /progress notification for an unknown token/;
