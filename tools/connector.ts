/**
 * @module `npm run connector`: the sandbox plus qindex-mcp as a remote connector (`http.auth: "oauth"`) in
 * front of the sandbox's Cognito-like pool, both on free loopback ports. When ready it prints exactly one
 * JSON line on stdout — `{"mcpUrl", "issuer", "upstreamIssuer", "users"}` — for any MCP client to connect
 * by URL (Claude Code, VS Code, the MCP Inspector); logs go to stderr; SIGTERM or Ctrl-C stops everything.
 */
import { join } from 'node:path';
import { ConfigSchema } from '../src/config/schema.js';
import { createLogger } from '../src/log.js';
import { createMcpServer } from '../src/server/mcp.js';
import { startHttpServer, type HttpServerHandle } from '../src/server/http/app.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { controlClient } from './sandbox/control-client.js';
import type { SandboxDescription } from './sandbox/description.js';
import { ROOT } from './ensure-built.js';
import { poolTenants } from './sandbox-config.js';

// stdout carries exactly one line: anything a library prints goes to stderr.
console.log = console.info = console.debug = console.error;
// The connector's sealed state (keys, grants) of a throwaway sandbox stays out of the user's config dir.
process.env.QINDEX_CONFIG_DIR ??= join(ROOT, '.tmp/connector');

/** The data-accessor configuration signing users in at the pool; each `custom:tenant` value is a tenant. */
export function connectorConfig(d: SandboxDescription) {
  const pool = d.cognito;
  const acme = pool.tenants.acme!;
  return ConfigSchema.parse({
    profile: 'connector',
    idp: {
      issuer: pool.issuer,
      clientId: pool.clientId,
      clientSecret: pool.clientSecret,
      scopes: ['openid', 'email', 'profile'],
    },
    mode: {
      type: 'data-accessor',
      grant: 'tti',
      idcRegion: acme.idcRegion,
      idcApplicationArn: acme.idcApplicationArn,
      roleArn: acme.roleArn,
      tenantId: acme.tenantId,
    },
    q: {
      region: acme.qRegion,
      applicationId: acme.applicationId,
      retrieverId: acme.retrieverId,
      indexId: acme.indexId,
    },
    aws: { endpoint: acme.awsEndpoint },
    tokenStore: 'memory',
    logging: { level: 'info' },
    http: {
      auth: 'oauth',
      host: '127.0.0.1',
      port: Number(process.env.QINDEX_CONNECTOR_PORT ?? 0),
      tenantClaim: pool.tenantClaim,
      tenants: poolTenants(d),
      oauth: { registration: { policy: 'open' }, clientIdMetadataDocuments: { enabled: true } },
    },
  });
}

async function main() {
  const sandbox: Sandbox = await startSandbox();
  let server: HttpServerHandle | undefined;
  let stopping = false;
  const stop = async (code = 0) => {
    if (stopping) return;
    stopping = true;
    await server?.close().catch(() => undefined);
    await sandbox.stop();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop());
  // Run under npm and sh, a signal to npm need not reach us: an orphan would keep serving.
  const parent = process.ppid;
  setInterval(() => process.ppid !== parent && void stop(), 500).unref();

  const d = sandbox.description;
  try {
    const config = connectorConfig(d);
    server = await startHttpServer(config, {
      logger: createLogger({ level: 'info' }),
      createServer: createMcpServer,
      baseCredentials: d.cognito.tenants.acme!.baseCredentials,
    });
    const mcpUrl = server.url;
    const issuer = new URL(mcpUrl).origin;
    // What an operator does once in the Cognito console: allow the connector's callback URL.
    await controlClient(d.control).addCognitoCallbackUrl(`${issuer}/oauth/callback`);
    const users = d.users
      .filter((u) => u.inIdentityCenter)
      .map(({ username, password, tenant, groups }) => ({ username, password, tenant, groups }));
    process.stdout.write(`${JSON.stringify({ mcpUrl, issuer, upstreamIssuer: d.cognito.issuer, users })}\n`);
    process.stderr.write(
      `connector ready: ${mcpUrl} (sign in at ${d.cognito.issuer}, e.g. alice / alice-pw); Ctrl-C stops\n`,
    );
  } catch (err) {
    process.stderr.write(`connector failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
  }
}

await main();
