/**
 * What a remote user reads in bearer HTTP mode: never the operator's instructions (settings to change,
 * AWS credentials to provide, commands to run, what AWS said), but the error's meaning and a reference
 * id; the server log holds the whole error under that id. A user's own fix (a bad nextToken) they read
 * in full. Real server, tools and identity exchange against the sandbox; MCP SDK clients with JWTs.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { createLogger } from '../../src/log.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { useSandbox } from '../helpers/sandbox.js';
import { bearerConfig, connect, startBearerServer } from './harness.js';

const sandbox = useSandbox();
const WRONG_APP = 'a1b2c3d4-5678-90ab-cdef-00000000dead';
/** Words of the operator's part: none may reach the remote user. */
const OPERATOR_ONLY = [
  /mode\.tenantId/,
  /q\.applicationId/,
  /tenant-wrong/,
  /\bSet /,
  /qindex-mcp/,
  /AssumeRole/,
  /ISV/,
  /00000000dead/,
];

const logLines: string[] = [];
const servers: HttpServerHandle[] = [];
const logger = (() => {
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => logLines.push(...d.toString().split('\n').filter(Boolean)));
  return createLogger({ level: 'info', destination: sink });
})();
let wrongTenant: HttpServerHandle;
let wrongApp: HttpServerHandle;
let healthy: HttpServerHandle;

const token = (username: string) =>
  controlClient(sandbox().description.control).mintAccessToken({
    username,
    clientId: sandbox().description.clients.isv,
  });

beforeAll(async () => {
  const start = async (overrides: Parameters<typeof bearerConfig>[2]) => {
    const s = await startBearerServer(sandbox(), bearerConfig(sandbox(), 'data-accessor', overrides), {
      logger,
    });
    servers.push(s);
    return s;
  };
  [wrongTenant, wrongApp, healthy] = await Promise.all([
    start({ mode: { tenantId: 'tenant-wrong' } }),
    start({ q: { applicationId: WRONG_APP } }),
    start({}),
  ]);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A tool call's text, and (awaited when `notified`) the first MCP log notification it caused. */
async function call(client: Client, name: string, args: Record<string, unknown>, notified = false) {
  let note!: (text: string) => void;
  const first = new Promise<string>((resolve) => (note = resolve));
  client.setNotificationHandler('notifications/message', (n) => note(JSON.stringify(n.params.data)));
  const result = await client.callTool({ name, arguments: args });
  const text = (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
  return { isError: result.isError === true, text, notes: notified ? [await first] : [] };
}

/** The server log's entry for a reference id. */
function logged(ref: string): Record<string, unknown> {
  const line = logLines.find((l) => l.includes(`"ref":"${ref}"`));
  expect(line, `a log line with ref ${ref}`).toBeDefined();
  return JSON.parse(line!) as Record<string, unknown>;
}

const referenceOf = (text: string) => /\(code: (\w+), reference: ([0-9a-f]{10})\)/.exec(text);

describe('errors told to a remote (bearer) user', () => {
  it('a wrong tenant id: the meaning and a reference, while the log has "Set mode.tenantId" under it', async () => {
    const { client } = await connect(wrongTenant.url, await token('alice'));
    const r = await call(client, 'search_relevant_content', { query: 'vpn' });
    expect(r.isError).toBe(true);
    expect(r.text).toContain("The server's tenant id does not match the data accessor.");
    expect(r.text).toContain('Only the operator of this server can fix this');
    for (const word of OPERATOR_ONLY) expect(r.text).not.toMatch(word);
    const [, code, ref] = referenceOf(r.text) ?? [];
    expect(code).toBe('tenant_mismatch');
    expect(logged(ref!)).toMatchObject({
      code: 'tenant_mismatch',
      fixBy: 'operator',
      remedy: expect.stringMatching(/^Set mode\.tenantId to the tenant id agreed with the customer/),
      err: expect.stringContaining('"tenant-wrong"'),
      details: { step: 'sso-oidc:CreateTokenWithIAM', exception: 'AccessDeniedException' },
    });
    await client.close();
  });

  it('a wrong q.applicationId inside a tool: no field, file or id in the result or the MCP log notifications', async () => {
    const { client } = await connect(wrongApp.url, await token('alice'));
    const r = await call(client, 'search_relevant_content', { query: 'vpn' }, true);
    expect(r.isError).toBe(true);
    expect(r.text).toMatch(
      /^search_relevant_content failed: The server's configuration is missing a setting/,
    );
    for (const word of OPERATOR_ONLY) {
      expect(r.text).not.toMatch(word);
      for (const note of r.notes) expect(note).not.toMatch(word);
    }
    const [, code, ref] = referenceOf(r.text) ?? [];
    expect(code).toBe('config_invalid');
    expect(r.notes[0]).toContain(`"reference":"${ref}"`);
    expect(logged(ref!)).toMatchObject({
      code: 'config_invalid',
      subject: 'search_relevant_content',
      remedy: expect.stringContaining('q.applicationId'),
      err: expect.stringContaining(WRONG_APP),
      details: { operation: 'SearchRelevantContent', field: 'q.applicationId' },
    });
    await client.close();
  });

  it("the user's own fix (a nextToken this search did not return) is told in full, with a reference", async () => {
    const { client } = await connect(healthy.url, await token('alice'));
    const r = await call(client, 'search_relevant_content', { query: 'vpn', nextToken: 'not-a-token' });
    expect(r.isError).toBe(true);
    expect(r.text).toContain('nextToken is not one that search_relevant_content returned');
    expect(r.text).toContain('What to do: Pass the nextToken of the previous search_relevant_content result');
    const [, code, ref] = referenceOf(r.text) ?? [];
    expect(code).toBe('invalid_next_token');
    expect(logged(ref!)).toMatchObject({ code: 'invalid_next_token', fixBy: 'user' });
    await client.close();
  });
});
