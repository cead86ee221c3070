/** @module placeholder */
import type { SandboxState } from '../state.js';
import type { World } from '../world.js';
import type { IdcStore } from './idc-store.js';
import type { TokenVerifier } from './jwt.js';
import type { ServiceHandler } from './types.js';
import { oauthError } from './errors.js';
export function createSsoOidcService(_deps: {
  world: World;
  state: SandboxState;
  verifier: TokenVerifier;
  store: IdcStore;
}): ServiceHandler {
  return async () => oauthError(500, 'InternalServerException', 'server_error', 'not built yet');
}
