/** @module placeholder */
import type { SandboxState } from '../state.js';
import type { World } from '../world.js';
import type { IdcStore } from './idc-store.js';
import type { ServiceHandler } from './types.js';
export function createIdcAuthorize(_deps: {
  world: World;
  state: SandboxState;
  store: IdcStore;
  awsUrl: () => string;
}): { routes: Record<string, ServiceHandler> } {
  return { routes: {} };
}
