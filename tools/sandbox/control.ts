/**
 * @module STUB — replaced by the control API work.
 */
import { createServer } from 'node:http';
import type { World } from './world.js';
import type { SandboxState } from './state.js';
import type { IdpKeys } from './idp/keys.js';
import type { IdpControl } from './idp/provider.js';
import { listen } from './index.js';

export async function startControl(deps: {
  world: World;
  state: SandboxState;
  keys: IdpKeys;
  idp: IdpControl;
  host: string;
  port?: number;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.writeHead(501).end());
  const port = await listen(server, deps.host, deps.port);
  return { url: `http://${deps.host}:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
