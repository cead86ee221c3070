/**
 * `npm run connector` as the README prints it: one JSON line on stdout once ready (npm's own banner aside),
 * whose mcpUrl answers 401 with a WWW-Authenticate naming RFC 9728 metadata that names the issuer, whose
 * RFC 8414 metadata is this server's (with a registration endpoint), in front of an upstream pool that has
 * none; SIGTERM to npm stops it and the URL stops answering.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/ensure-built.js';
import { eventually } from '../helpers/eventually.js';
import { launchChromium } from '../helpers/chromium.js';
import { BrowserOAuthProvider, LoopbackRedirect, connectWithOAuth } from '../helpers/oauth-client.js';
import { search } from '../http/harness.js';
import { tempDir } from '../auth/helpers.js';

interface Ready {
  mcpUrl: string;
  issuer: string;
  upstreamIssuer: string;
  users: Array<{ username: string; password: string }>;
}

let child: ChildProcess;
let stdout = '';
let stderr = '';
let ready: Ready;

beforeAll(async () => {
  const dir = await tempDir('qindex-connector-');
  child = spawn('npm', ['run', 'connector'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: dir, QINDEX_CONFIG_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr!.on('data', (c) => (stderr += String(c)));
  ready = await new Promise<Ready>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no JSON line:\n${stdout}\n${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${stderr}`)));
    child.stdout!.on('data', (c) => {
      stdout += String(c);
      const line = stdout.split('\n').find((l) => l.startsWith('{') && stdout.includes(`${l}\n`));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as Ready);
      }
    });
  });
}, 90_000);

afterAll(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

const jsonLines = () => stdout.split('\n').filter((l) => l.trim().startsWith('{'));

describe('npm run connector', () => {
  it('prints exactly one JSON line with the URL, both issuers and users to sign in as', () => {
    expect(jsonLines()).toHaveLength(1);
    expect(ready.mcpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    expect(ready.issuer).toBe(new URL(ready.mcpUrl).origin);
    expect(ready.upstreamIssuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.upstreamIssuer).not.toBe(ready.issuer);
    expect(ready.users).toEqual(
      expect.arrayContaining([expect.objectContaining({ username: 'alice', password: 'alice-pw' })]),
    );
  });

  it('answers 401 with WWW-Authenticate pointing at metadata that names the issuer', async () => {
    const res = await fetch(ready.mcpUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      }),
    });
    expect(res.status).toBe(401);
    const header = res.headers.get('www-authenticate') ?? '';
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(header)?.[1];
    expect(metadataUrl, header).toBeDefined();
    const prm = (await (await fetch(metadataUrl!)).json()) as Record<string, unknown>;
    expect(prm.resource).toBe(ready.mcpUrl);
    expect(prm.authorization_servers).toEqual([ready.issuer]);

    const as = (await (
      await fetch(`${ready.issuer}/.well-known/oauth-authorization-server`)
    ).json()) as Record<string, unknown>;
    expect(as.issuer).toBe(ready.issuer);
    expect(as.registration_endpoint).toEqual(expect.any(String));
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    const upstream = (await (
      await fetch(`${ready.upstreamIssuer}/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    expect(upstream.issuer).toBe(ready.upstreamIssuer);
    expect(upstream).not.toHaveProperty('registration_endpoint');
  });

  it('an MCP client with only the URL signs in (DCR, Chromium) as a printed user and searches', async () => {
    const browser = await launchChromium();
    const redirect = new LoopbackRedirect();
    await redirect.start();
    try {
      const user = ready.users.find((u) => u.username === 'alice')!;
      const provider = new BrowserOAuthProvider(browser, redirect, { kind: 'dcr' }, user);
      const { client } = await connectWithOAuth(ready.mcpUrl, provider);
      const result = await search(client, 'Acme rocket sled safety procedure');
      expect(result.isError, result.text).toBe(false);
      expect(result.titles).toContain('Acme Rocket Sled Safety Procedure');
      await client.close();
    } finally {
      await browser.close();
      await redirect.stop();
    }
  });

  it("README's section shows this command and each client's line, with the Inspector version npm start pins", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('\n## Remote connector (sandbox)\n'));
    const pinned = /INSPECTOR = '([^']+)'/.exec(await readFile(join(ROOT, 'tools/start.ts'), 'utf8'))![1]!;
    expect(section).toContain('`npm run connector`');
    expect(section).toMatch(/claude mcp add --transport http qindex http:\/\/127\.0\.0\.1:\d+\/mcp/);
    expect(section).toContain('"type": "http"');
    expect(section).toContain(`npx -y ${pinned} --transport http --server-url http://127.0.0.1:`);
  });

  it('stops on SIGTERM', async () => {
    expect((await fetch(ready.mcpUrl)).status).not.toBe(200);
    child.kill('SIGTERM');
    const down = await eventually(async () => {
      try {
        await fetch(ready.mcpUrl, { signal: AbortSignal.timeout(1000) });
        return false;
      } catch {
        return true;
      }
    });
    expect(down).toBe(true);
  });
});
