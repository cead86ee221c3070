/**
 * @module STUB — replaced by the AWS emulator work.
 */
import { createServer } from 'node:http';
import type { World } from '../world.js';
import type { SandboxState } from '../state.js';
import type { IdpKeys } from '../idp/keys.js';
import { listen } from '../index.js';

export async function startAwsEmulator(deps: {
  world: World;
  state: SandboxState;
  keys: IdpKeys;
  host: string;
  port?: number;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((_req, res) => res.writeHead(501).end());
  const port = await listen(server, deps.host, deps.port);
  return { url: `http://${deps.host}:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}
