/**
 * `npm start` as a newcomer runs it: every command it prints is run exactly as printed (the sign-in
 * lines, whoami, the MCP Inspector CLI line; the web line until it is up), each identity mode's
 * mcp.json entry serves a search with the keys written for it, a second start names the earlier
 * sandbox holding the ports, and SIGTERM to npm stops the sandbox and frees them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { ROOT } from '../../tools/ensure-built.js';
import { run, tempDir } from '../auth/helpers.js';

interface Started {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exited: Promise<number | null>;
}

/** Three consecutive free loopback ports are not guaranteed; three free ones are enough. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const portsUp = async (ports: number[]) =>
  Promise.all(
    ports.map(
      (port) =>
        new Promise<boolean>((resolve) => {
          const s = createServer();
          s.once('error', () => resolve(true));
          s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
        }),
    ),
  );

function npmStart(env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn('npm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const started: Started = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))),
  };
  child.stderr!.on('data', (c) => (started.stderr += String(c)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`npm start printed no tour:\n${started.stderr}`)),
      90_000,
    );
    child.stdout!.on('data', (c) => {
      started.stdout += String(c);
      if (started.stdout.includes('Scripted tour instead')) {
        clearTimeout(timer);
        resolve(started);
      }
    });
  });
}

/** The printed command lines (indented, starting with a program name), in order. */
const printed = (out: string) =>
  out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(node|npx|claude) /.test(l));

let dir: string;
let env: NodeJS.ProcessEnv;
let ports: number[];
let first: Started;
let lines: string[];

/** Runs a printed line exactly (split on spaces: the paths the test chose have none). */
const runLine = (line: string, onStderr?: (chunk: string, all: string) => void, timeoutMs = 60_000) => {
  const [cmd, ...args] = line.split(' ');
  return run(cmd!, args, env as Record<string, string>, {
    timeoutMs,
    cwd: dir,
    ...(onStderr ? { onStderr } : {}),
  });
};

/** Runs a printed login line, approving the device code it shows for `username`. */
const login = (line: string, username: string) => {
  let approved = false;
  const control = controlClient(`http://127.0.0.1:${ports[2]}`);
  return runLine(line, (_chunk, all) => {
    const m = /enter the code: (\S+)/.exec(all);
    if (m && !approved) {
      approved = true;
      void control.approveDevice({ userCode: m[1]!, username });
    }
  });
};

beforeAll(async () => {
  dir = await tempDir('qindex-start-');
  ports = [await freePort(), await freePort(), await freePort()];
  env = {
    PATH: process.env.PATH,
    HOME: dir,
    QINDEX_CONFIG_DIR: dir,
    QINDEX_SANDBOX_DIR: join(dir, 'sandbox'),
    SANDBOX_IDP_PORT: String(ports[0]),
    SANDBOX_AWS_PORT: String(ports[1]),
    SANDBOX_CONTROL_PORT: String(ports[2]),
    // The user's npm cache, so npx finds the Inspector it already fetched.
    npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
  };
  first = await npmStart(env);
  lines = printed(first.stdout);
}, 120_000);

afterAll(() => {
  first?.child.kill('SIGKILL');
});

describe('npm start (the newcomer tour)', () => {
  it('prints working sign-in and whoami lines, and writes per-mode keys that serve a search', async () => {
    const [deviceLine] = lines.filter((l) => l.includes(' login --device '));
    expect(deviceLine).toBeDefined();
    const signedIn = await login(deviceLine!, 'alice');
    expect(signedIn.code, signedIn.stderr).toBe(0);
    expect(signedIn.stderr).toContain('Signed in: alice@example.com');

    const whoami = await runLine(lines.find((l) => l.includes(' whoami '))!);
    expect(whoami.code, whoami.stderr).toBe(0);
    expect(whoami.stdout + whoami.stderr).toContain('alice@example.com');

    // Each mode's printed login line (browser by default; device without a display, as here), then
    // its mcp.json entry exactly as written, spawned by a real MCP client.
    const mcp = JSON.parse(await readFile(join(dir, 'sandbox', 'mcp.json'), 'utf8')) as {
      mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }>;
    };
    expect(Object.keys(mcp.mcpServers)).toEqual([
      'qindex-sandbox',
      'qindex-sandbox-data-accessor',
      'qindex-sandbox-iam-federation',
    ]);
    for (const [name, entry] of Object.entries(mcp.mcpServers)) {
      const configFile = entry.args.at(-1)!;
      if (name !== 'qindex-sandbox') {
        const line = lines.find((l) => l.endsWith(` login --config ${configFile}`));
        expect(line, name).toBeDefined();
        const out = await login(line!, 'alice');
        expect(out.code, `${name}: ${out.stderr}`).toBe(0);
      }
      // The claude line launches exactly the mcp.json entry with exactly its keys.
      const claude = lines.find((l) => l.startsWith(`claude mcp add ${name} `))!;
      const envFlags = Object.entries(entry.env)
        .map(([k, v]) => `-e ${k}=${v} `)
        .join('');
      expect(claude).toBe(`claude mcp add ${name} ${envFlags}-- ${['node', ...entry.args].join(' ')}`);

      const client = new Client({ name: 'start-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({
          command: entry.command,
          args: entry.args,
          env: { PATH: env.PATH!, HOME: dir, QINDEX_CONFIG_DIR: dir, ...entry.env },
          stderr: 'pipe',
        }),
      );
      try {
        const result = (await client.callTool({
          name: 'search_relevant_content',
          arguments: { query: 'travel reimbursement limit' },
        })) as { isError?: boolean; content: { text: string }[] };
        expect(result.isError, `${name}: ${result.content[0]?.text}`).toBeFalsy();
        expect(result.content[0]!.text).toContain('[1]');
      } finally {
        await client.close();
      }
    }
  }, 120_000);

  it('prints MCP Inspector lines that work exactly as printed', async () => {
    const inspector = lines.filter((l) => l.startsWith('npx '));
    expect(inspector).toHaveLength(2);
    const cli = await runLine(
      inspector.find((l) => l.includes(' --cli '))!,
      undefined,
      120_000,
    );
    expect(cli.code, cli.stderr).toBe(0);
    const tools = (JSON.parse(cli.stdout) as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(tools).toContain('search_relevant_content');

    // The web UI: up and listening is what the line promises; no browser here to open.
    const [cmd, ...args] = inspector.find((l) => !l.includes(' --cli '))!.split(' ');
    // Its own process group: npx's children must go with it.
    const web = spawn(cmd!, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    const up = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 90_000);
      const watch = (c: Buffer) => {
        output += String(c);
        if (/is up and running/i.test(output)) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      web.stdout.on('data', watch);
      web.stderr.on('data', watch);
    });
    process.kill(-web.pid!, 'SIGTERM');
    expect(up, output).toBe(true);
  }, 240_000);

  it('a second start names the earlier sandbox on its ports; SIGTERM to npm stops the sandbox', async () => {
    const second = await npmStart(env);
    expect(second.stderr).toContain(`An earlier sandbox is still running on ports ${ports[0]}-${ports[2]}`);
    second.child.kill('SIGTERM');
    expect(await second.exited).not.toBeNull();

    expect(await portsUp(ports)).toEqual([true, true, true]);
    first.child.kill('SIGTERM');
    await first.exited;
    // The sandbox process (npm's grandchild) must let go of the ports, not linger as an orphan.
    let free = false;
    for (let i = 0; i < 40 && !free; i++) {
      free = (await portsUp(ports)).every((taken) => !taken);
      if (!free) await new Promise((r) => setTimeout(r, 250));
    }
    expect(free).toBe(true);
  }, 120_000);
});
