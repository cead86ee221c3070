/**
 * @module startSandbox(): the IdP, the AWS emulator and the control API on free loopback ports.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { createWorld, type World } from './world.js';
import { createState, type SandboxState } from './state.js';
import { createIdpKeys, type IdpKeys } from './idp/keys.js';
import { createIdp, type IdpControl } from './idp/provider.js';
import { createCognito, type CognitoControl } from './cognito/provider.js';
import { startAwsEmulator } from './aws/server.js';
import { startControl } from './control.js';
import { describe, type SandboxDescription } from './description.js';

export interface SandboxOptions {
  /** Loopback address to bind; default 127.0.0.1. */
  host?: string;
  /** Fixed ports (0 or absent: a free one). */
  idpPort?: number;
  /** The Cognito-like user pool (the second IdP personality). */
  cognitoPort?: number;
  awsPort?: number;
  controlPort?: number;
}

export interface Sandbox {
  description: SandboxDescription;
  /** In-process handles for tests that need more than the control API offers. */
  world: World;
  state: SandboxState;
  keys: IdpKeys;
  idp: IdpControl;
  cognito: CognitoControl;
  stop(): Promise<void>;
}

export async function listen(server: Server | NetServer, host: string, port = 0) {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

/**
 * For the long-running entry points: Ctrl-C, SIGTERM, SIGHUP or the parent's death stops the sandbox
 * once, then exits. The parent check matters because `npm start` runs us under `sh` and `tsx`: a
 * signal to npm need not reach this process, and an orphaned sandbox would hold the fixed ports.
 */
export function stopOnSignals(sandbox: Sandbox): void {
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await sandbox.stop();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 500);
  watch.unref();
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const keys = await createIdpKeys();
  const state = createState();

  // The issuer URL must be known before oidc-provider is built: bind first, attach the handler after.
  const idpServer = createServer();
  const idpPort = await listen(idpServer, host, options.idpPort);
  // The Cognito-like pool on its own port: its own origin, cookies renamed (cookies ignore ports).
  const cognitoServer = createServer();
  const cognitoPort = await listen(cognitoServer, host, options.cognitoPort);
  const world = createWorld(`http://${host}:${idpPort}`, `http://${host}:${cognitoPort}`);
  const idp = await createIdp({ world, keys, state });
  idpServer.on('request', idp.handler);
  const cognito = await createCognito({ world, keys: await createIdpKeys(), state });
  cognitoServer.on('request', cognito.handler);

  const aws = await startAwsEmulator({ world, state, keys, host, port: options.awsPort });
  // The control API serves the description, which names the control API's own URL.
  const ready: { description?: SandboxDescription } = {};
  const control = await startControl({
    world,
    state,
    keys,
    idp,
    cognito,
    host,
    port: options.controlPort,
    description: () => ready.description,
  });
  const description = describe(world, { control: control.url, awsEndpoint: aws.url });
  ready.description = description;

  return {
    description,
    world,
    state,
    keys,
    idp,
    cognito,
    async stop() {
      idpServer.closeAllConnections();
      cognitoServer.closeAllConnections();
      await Promise.all([
        new Promise<void>((r) => idpServer.close(() => r())),
        new Promise<void>((r) => cognitoServer.close(() => r())),
        aws.close(),
        control.close(),
      ]);
    },
  };
}
