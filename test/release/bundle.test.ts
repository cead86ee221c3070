/**
 * The Claude Desktop extension: `buildBundle` (what `npm run bundle` runs) packs a .mcpb that the
 * official `mcpb` tool validates; unpacked, it holds the entry point, the production dependencies and
 * every desktop platform's keyring binary, and no devDependency. Started the way Claude Desktop starts
 * it (mcpb's own getMcpConfigForManifest fills in the user's settings), it serves a search over stdio.
 * manifest.json lists exactly the tools src/tools defines.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { getMcpConfigForManifest } from '@anthropic-ai/mcpb/node';
import type { McpbManifestAny } from '@anthropic-ai/mcpb';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/ensure-built.js';
import {
  buildBundle,
  DESKTOP_KEYRING_PACKAGES,
  expectedManifest,
  mcpb,
  type BuiltBundle,
} from '../../tools/bundle.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { leaked, tempDir } from '../auth/helpers.js';
import { useSandbox } from '../helpers/sandbox.js';
import { awsKeys, listAndSearch, npmEnv, stdio, userEnv, writeSandboxConfig } from './helpers.js';

const sandbox = useSandbox();
const committed = JSON.parse(await readFile(join(ROOT, 'manifest.json'), 'utf8')) as McpbManifestAny;

let home: string;
let bundle: BuiltBundle;
let unpacked: string;

beforeAll(async () => {
  home = await tempDir('qindex-bundle-test-');
  bundle = await buildBundle({
    out: join(home, 'qindex-mcp.mcpb'),
    env: npmEnv(home),
    updateManifest: false,
  });
  unpacked = join(home, 'unpacked');
  await mcpb(['unpack', bundle.file, unpacked]);
}, 300_000);

/** The command, arguments and environment Claude Desktop would run for these settings. */
async function launch(userConfig: Record<string, string>) {
  const config = await getMcpConfigForManifest({
    manifest: committed,
    extensionPath: unpacked,
    systemDirs: {
      HOME: home,
      DESKTOP: join(home, 'Desktop'),
      DOCUMENTS: join(home, 'Documents'),
      DOWNLOADS: home,
    },
    userConfig,
    pathSeparator: sep,
  });
  if (!config) throw new Error('mcpb produced no server configuration');
  return { command: config.command, args: config.args ?? [], env: config.env ?? {} };
}

describe('the MCPB bundle', () => {
  it("manifest.json has the package's version and Node versions, and exactly the tools src/tools defines", async () => {
    const expected = (await expectedManifest()) as McpbManifestAny;
    expect(committed.version).toBe(expected.version);
    expect(committed.compatibility?.runtimes?.node).toBe(expected.compatibility?.runtimes?.node);
    // Stale after adding, renaming or re-describing a tool: run `npm run bundle` and commit manifest.json.
    expect(committed.tools).toEqual(expected.tools);
  });

  it('passes `mcpb validate`; the secrets are sensitive, the server entry point is the built CLI', async () => {
    expect(await mcpb(['validate', join(ROOT, 'manifest.json')])).toContain('passes');
    const settings = committed.user_config ?? {};
    for (const secret of ['refresh_token', 'aws_access_key_id', 'aws_secret_access_key'])
      expect(settings[secret]?.sensitive, secret).toBe(true);
    expect(Object.keys(settings)).toEqual(expect.arrayContaining(['profile', 'config_path']));
    expect(committed.server.entry_point).toBe('dist/src/cli.js');
    expect(existsSync(join(unpacked, committed.server.entry_point))).toBe(true);
    expect(bundle.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('unpacks to the production dependencies and each desktop keyring binary, without devDependencies', async () => {
    for (const name of DESKTOP_KEYRING_PACKAGES) {
      const files = await readdir(join(unpacked, 'node_modules', name));
      expect(
        files.some((f) => f.endsWith('.node')),
        name,
      ).toBe(true);
    }
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(
        ([path, p]) => p.dev && path.startsWith('node_modules/') && !path.includes('/node_modules/', 13),
      )
      .map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(10);
    expect(devOnly.filter((path) => existsSync(join(unpacked, path)))).toEqual([]);
    expect(existsSync(join(unpacked, 'tools'))).toBe(false);
    expect(existsSync(join(unpacked, 'test'))).toBe(false);
  });

  it('started as Claude Desktop starts it, with a config file, a refresh token and AWS keys, it serves a search', async () => {
    const d = sandbox().description;
    const refreshToken = await controlClient(d.control).mintRefreshToken({
      username: 'alice',
      clientId: d.modes.idc.clientId,
    });
    const keys = awsKeys(sandbox(), 'idc');
    const { command, args, env } = await launch({
      config_path: await writeSandboxConfig(home, sandbox(), 'idc'),
      refresh_token: refreshToken,
      aws_access_key_id: keys.AWS_ACCESS_KEY_ID!,
      aws_secret_access_key: keys.AWS_SECRET_ACCESS_KEY!,
    });
    expect(command).toBe('node');
    const server = stdio(command, args, { ...userEnv(home), ...env }, home);
    const result = await listAndSearch(server.transport);
    expect(result.tools, server.stderr()).toEqual(committed.tools!.map((t) => t.name));
    expect(result.isError, result.text).toBe(false);
    expect(result.text).toContain('[1]');
    expect(leaked(server.stderr(), [refreshToken, keys.AWS_SECRET_ACCESS_KEY!])).toBeUndefined();
  }, 60_000);

  it('settings left empty pass no placeholder: the per-user config file and the default profile apply', async () => {
    const empty = await launch({});
    expect(JSON.stringify(empty)).not.toContain('${');
    expect(empty.env.QINDEX_PROFILE).toBe('default');

    // Only the secrets given; the configuration comes from the per-user directory (QINDEX_CONFIG_DIR here).
    const d = sandbox().description;
    const base = userEnv(home);
    const { mkdir, copyFile } = await import('node:fs/promises');
    await mkdir(base.QINDEX_CONFIG_DIR!, { recursive: true });
    await copyFile(
      await writeSandboxConfig(home, sandbox(), 'iam-federation'),
      join(base.QINDEX_CONFIG_DIR!, 'config.json'),
    );
    const refreshToken = await controlClient(d.control).mintRefreshToken({
      username: 'bob',
      clientId: d.modes.iamFederation.clientId,
    });
    const { command, args, env } = await launch({ refresh_token: refreshToken });
    const server = stdio(command, args, { ...base, ...env }, home);
    const result = await listAndSearch(server.transport);
    expect(result.isError, `${result.text}\n${server.stderr()}`).toBe(false);
    expect(result.text).toContain('[1]');
  }, 60_000);
});
