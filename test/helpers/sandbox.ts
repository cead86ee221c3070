/**
 * @module Vitest helper: one sandbox per test file, on free loopback ports, stopped afterwards.
 */
import { afterAll, beforeAll } from 'vitest';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../tools/sandbox/index.js';

/** Starts a sandbox before the file's tests; the returned getter is valid inside tests and hooks. */
export function useSandbox(options: SandboxOptions = {}): () => Sandbox {
  let sandbox: Sandbox | undefined;
  beforeAll(async () => {
    sandbox = await startSandbox(options);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });
  return () => {
    if (!sandbox) throw new Error('sandbox not started: call useSandbox() at the top of the test file');
    return sandbox;
  };
}
