/**
 * @module E2E harness for the connector (`http.auth: "oauth"`, issue 13): a server in oauth mode in front of
 * the sandbox's Cognito-like pool (data accessor, one tenant per `custom:tenant` value), its logs captured
 * at debug for canary checks, the pool's callback URL added as an operator would, and a small load balancer
 * for replicas that share one public URL.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.js';
import { createMcpServer } from '../../src/server/mcp.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http/app.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { poolTenants } from '../../tools/sandbox-config.js';
import { configFor, type ConfigOverrides } from '../helpers/config.js';

export interface ConnectorServer {
  server: HttpServerHandle;
  /** The MCP endpoint. */
  url: string;
  /** Everything the server logged (pino JSON lines, debug and up). */
  logs: string[];
  close(): Promise<void>;
}

/** The oauth-mode configuration against the Cognito-like pool; `overrides` merge in (http.oauth etc.). */
export function connectorConfig(sandbox: Sandbox, overrides: ConfigOverrides = {}) {
  const pool = sandbox.description.cognito;
  const acme = pool.tenants.acme!;
  return configFor(sandbox.description, 'data-accessor', {
    ...overrides,
    idp: {
      issuer: pool.issuer,
      clientId: pool.clientId,
      clientSecret: pool.clientSecret,
      scopes: ['openid', 'email', 'profile'],
      ...overrides.idp,
    },
    q: { applicationId: acme.applicationId, retrieverId: acme.retrieverId, indexId: acme.indexId },
    mode: { idcApplicationArn: acme.idcApplicationArn, tenantId: acme.tenantId },
    http: {
      auth: 'oauth',
      host: '127.0.0.1',
      port: 0,
      tenantClaim: pool.tenantClaim,
      tenants: poolTenants(sandbox.description),
      ...overrides.http,
    },
  });
}

/** Starts a connector; registers `<issuer>/oauth/callback` at the pool (the operator's step). */
export async function startConnector(
  sandbox: Sandbox,
  overrides: ConfigOverrides = {},
): Promise<ConnectorServer> {
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const config = connectorConfig(sandbox, overrides);
  const server = await startHttpServer(config, {
    logger: createLogger({ level: 'debug', destination }),
    createServer: createMcpServer,
    baseCredentials: sandbox.description.cognito.tenants.acme!.baseCredentials,
  });
  const http = config.http!;
  const issuer = http.oauth.issuer ?? new URL(http.resource ?? server.url).origin;
  await controlClient(sandbox.description.control).addCognitoCallbackUrl(`${issuer}/oauth/callback`);
  return { server, url: http.resource ?? server.url, logs, close: () => server.close() };
}

/** A free loopback port (bound and released), for a public URL chosen before the servers start. */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A load balancer on `port` in front of replicas: a request goes to the replica its `x-replica` header names
 * (a test's sticky routing), else to `target`, else round robin. Host and body pass through, streams included.
 */
export class LoadBalancer {
  target: number | undefined;
  private server?: Server;
  private next = 0;
  /** Requests each replica got. */
  readonly served: number[];

  constructor(private readonly ports: number[]) {
    this.served = ports.map(() => 0);
  }

  async start(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const pinned = req.headers['x-replica'];
      const i = pinned !== undefined ? Number(pinned) : (this.target ?? this.next++ % this.ports.length);
      this.served[i]!++;
      const upstream = request(
        { host: '127.0.0.1', port: this.ports[i], method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', () => r()));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Every secret value the sandbox handed out, plus the AWS base keys: none may appear where a client or log sees. */
export function sandboxSecrets(sandbox: Sandbox): string[] {
  const keys = Object.values(sandbox.world.baseCredentials).map((c) => c.secretAccessKey);
  return [...sandbox.state.issuedSecrets, ...keys, sandbox.description.cognito.clientSecret];
}
