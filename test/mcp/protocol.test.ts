/**
 * @module The stdio wire itself, with no SDK client in between: a raw child process fed malformed
 * lines, unknown tools and out-of-bounds arguments. Every stdout line must parse as JSON-RPC, errors
 * must be clear, the server must keep answering, and no canary secret may appear on stdout or stderr.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { configInputFor } from '../helpers/config.js';
import { useSandbox } from '../helpers/sandbox.js';
import { CLI, ensureBuilt } from './harness.js';

const sandbox = useSandbox();

interface RawServer {
  child: ChildProcessWithoutNullStreams;
  lines: string[];
  stderr: () => string;
  send(message: unknown): void;
  writeRaw(line: string): void;
  /** The next message with this id (or, for id === null, an error without an id). */
  response(id: number | null): Promise<Record<string, unknown>>;
}

let server: RawServer;
let refreshToken: string;
let nextId = 1;

async function spawnRaw(): Promise<RawServer> {
  const d = sandbox().description;
  const dir = await mkdtemp(join(tmpdir(), 'qindex-mcp-raw-'));
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify(configInputFor(d, 'idc')));
  refreshToken = await controlClient(d.control).mintRefreshToken({
    username: 'alice',
    clientId: d.modes.idc.clientId,
  });
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configPath, '--log-level', 'debug'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      AWS_ACCESS_KEY_ID: d.modes.idc.baseCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: d.modes.idc.baseCredentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      QINDEX_CONFIG_DIR: join(dir, 'config'),
      QINDEX_REFRESH_TOKEN: refreshToken,
    },
    cwd: dir,
  });
  const lines: string[] = [];
  let buffer = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let seen = 0;
  const parsed: Array<Record<string, unknown>> = [];
  const response = async (id: number | null) => {
    for (;;) {
      while (seen < lines.length) parsed.push(JSON.parse(lines[seen++]!) as Record<string, unknown>);
      const hit = parsed.find((m) => (id === null ? !('id' in m) && 'error' in m : m.id === id));
      if (hit) {
        parsed.splice(parsed.indexOf(hit), 1);
        return hit;
      }
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${stderr}`);
      await new Promise<void>((r) => waiters.push(r));
    }
  };
  return {
    child,
    lines,
    stderr: () => stderr,
    send: (message) => child.stdin.write(`${JSON.stringify(message)}\n`),
    writeRaw: (line) => child.stdin.write(`${line}\n`),
    response,
  };
}

const request = async (method: string, params: Record<string, unknown> = {}) => {
  const id = nextId++;
  server.send({ jsonrpc: '2.0', id, method, params });
  return server.response(id);
};

beforeAll(async () => {
  await ensureBuilt();
  server = await spawnRaw();
  const init = await request('initialize', {
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'raw-test', version: '1' },
  });
  expect(init.result).toMatchObject({
    serverInfo: { name: 'qindex-mcp' },
    capabilities: { tools: {}, logging: {} },
  });
  server.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
}, 120_000);

afterAll(() => {
  server?.child.kill();
});

describe('malformed input over stdio', () => {
  it('answers a line that is not JSON with a parse error and keeps serving', async () => {
    server.writeRaw('{"jsonrpc":"2.0","id":99,"method":"tools/list",');
    const error = await server.response(null);
    expect(error).toMatchObject({ jsonrpc: '2.0', error: { code: -32700 } });
    expect((error.error as { message: string }).message).toMatch(/not valid JSON/);
    const list = await request('tools/list');
    expect((list.result as { tools: unknown[] }).tools.length).toBe(8);
  });

  it('answers JSON that is not JSON-RPC with an invalid-request error and keeps serving', async () => {
    server.writeRaw('{"hello":"world"}');
    const error = await server.response(null);
    expect(error).toMatchObject({ error: { code: -32600 } });
    const ping = await request('ping');
    expect(ping.result).toEqual({});
  });

  it('answers an unknown method and an unknown tool with JSON-RPC errors', async () => {
    const method = await request('tools/explode');
    expect(method.error).toMatchObject({ code: -32601 });
    const tool = await request('tools/call', { name: 'drop_database', arguments: {} });
    expect(tool.error).toMatchObject({ code: -32602 });
    expect((tool.error as { message: string }).message).toMatch(
      /Unknown tool "drop_database".*search_relevant_content/,
    );
  });

  it('rejects out-of-bounds and malformed arguments with a message naming the field and bound', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ query: 'x', maxResults: 101 }, /maxResults/],
      [{ query: 'x', maxResults: 0 }, /maxResults/],
      [{ query: '' }, /query/],
      [{ query: 'x'.repeat(1001) }, /query/],
      [{ query: 'x', attributeFilter: { equalsTo: { name: 'a' } } }, /attributeFilter/],
      [{ query: 'x', extra: true }, /extra/],
      [{}, /query/],
    ];
    for (const [args, pattern] of cases) {
      const r = await request('tools/call', { name: 'search_relevant_content', arguments: args });
      const result = r.result as { isError?: boolean; content: Array<{ text: string }> };
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(result.content[0]!.text).toMatch(/Input validation error/);
      expect(result.content[0]!.text).toMatch(pattern);
    }
    const doc = await request('tools/call', {
      name: 'get_document',
      arguments: { documentId: 'x', maxChars: 50_001 },
    });
    expect((doc.result as { content: Array<{ text: string }> }).content[0]!.text).toMatch(/maxChars/);
    const chat = await request('tools/call', {
      name: 'chat',
      arguments: { message: 'hi', conversationId: 'nope' },
    });
    expect((chat.result as { content: Array<{ text: string }> }).content[0]!.text).toMatch(/conversationId/);
  });

  it('still serves a real tool call after all of that', async () => {
    const r = await request('tools/call', {
      name: 'search_relevant_content',
      arguments: { query: 'VPN', maxResults: 2 },
    });
    const result = r.result as { isError?: boolean; structuredContent: { passages: unknown[] } };
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(result.structuredContent.passages.length).toBeGreaterThan(0);
  });

  it('answers chat, whoami and a refused document read on the same connection', async () => {
    const chat = await request('tools/call', {
      name: 'chat',
      arguments: { message: 'How do I enroll a security key?' },
    });
    expect((chat.result as { isError?: boolean }).isError).toBeFalsy();
    const who = await request('tools/call', { name: 'whoami', arguments: {} });
    expect((who.result as { structuredContent: { signedIn: boolean } }).structuredContent.signedIn).toBe(
      true,
    );
    const doc = await request('tools/call', {
      name: 'get_document',
      arguments: { documentId: 'review-bob-berg-2025' },
    });
    expect((doc.result as { isError?: boolean }).isError).toBe(true);
  });

  it('wrote only JSON-RPC lines to stdout, and no canary secret to stdout or stderr', () => {
    expect(server.lines.length).toBeGreaterThan(10);
    for (const line of server.lines) {
      expect(() => JSONRPCMessageSchema.parse(JSON.parse(line)), line).not.toThrow();
    }
    const secret = sandbox().description.modes.idc.baseCredentials.secretAccessKey;
    const everything = server.lines.join('\n') + server.stderr();
    expect(everything).not.toContain(refreshToken);
    expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
  });
});
