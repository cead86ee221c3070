/**
 * @module STUB — replaced by the IdP work (oidc-provider configuration).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { World } from '../world.js';
import type { SandboxState } from '../state.js';
import type { IdpKeys } from './keys.js';

export interface IdpControl {
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

export async function createIdp(_deps: {
  world: World;
  keys: IdpKeys;
  state: SandboxState;
}): Promise<IdpControl> {
  return { handler: (_req, res) => res.writeHead(503).end('IdP not built yet') };
}
