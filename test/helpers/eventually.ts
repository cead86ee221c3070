/**
 * @module Waiting (bounded) for an effect that lands after a response, like an abort upstream: polls,
 * never times an assertion.
 */
export async function eventually(check: () => Promise<boolean>, tries = 50): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
