/**
 * @module STUB — replaced by the Q Business data plane work.
 */
import type { World } from '../../world.js';
import type { SandboxState } from '../../state.js';
import type { ServiceHandler } from '../types.js';

export interface QBusinessService {
  /** Signed requests whose credential scope names `qbusiness`. */
  handler: ServiceHandler;
  /** Unsigned routes by path prefix (presigned document downloads). */
  unsignedRoutes: Record<string, ServiceHandler>;
}

export function createQBusinessService(_world: World, _state: SandboxState): QBusinessService {
  return {
    handler: async () => ({
      status: 403,
      headers: { 'x-amzn-errortype': 'AccessDeniedException', 'content-type': 'application/json' },
      body: JSON.stringify({ message: 'not built yet' }),
    }),
    unsignedRoutes: {},
  };
}
