/**
 * @module How the stdio benchmarks start the built server against the sandbox: one idc configuration
 * (memory token store, silent logs) in a temp directory, and for each server its own refresh token for
 * alice (a server rotates the token it was given, so two servers never share one).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SandboxDescription } from '../tools/sandbox/description.js';
import { controlClient } from '../tools/sandbox/control-client.js';
import { sandboxConfig } from '../tools/sandbox-config.js';
import { CLI } from '../tools/ensure-built.js';

/** The configuration every stdio benchmark serves. */
export const benchConfig = (d: SandboxDescription) => ({
  ...sandboxConfig(d, 'idc'),
  tokenStore: 'memory',
  logging: { level: 'silent' },
});

export async function benchServer(d: SandboxDescription, tag: string) {
  const dir = await mkdtemp(join(tmpdir(), `qindex-mcp-bench-${tag}-`));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(benchConfig(d)));
  const control = controlClient(d.control);
  const base = d.modes.idc.baseCredentials;
  return {
    /** The CLI's arguments for `serve` with that configuration (`cli`: another build). */
    args: (cli = CLI) => [cli, 'serve', '--config', configPath],
    /** A server's environment, with a refresh token of its own. */
    async env(): Promise<Record<string, string>> {
      const token = await control.mintRefreshToken({ username: 'alice', clientId: d.modes.idc.clientId });
      return {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        QINDEX_CONFIG_DIR: dir,
        QINDEX_REFRESH_TOKEN: token,
        AWS_ACCESS_KEY_ID: base.accessKeyId,
        AWS_SECRET_ACCESS_KEY: base.secretAccessKey,
      };
    },
  };
}
