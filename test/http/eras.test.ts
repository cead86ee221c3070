/**
 * Both protocol eras on one HTTP endpoint, with no configuration: an SDK client speaking 2025-11-25
 * (initialize, a session) and one speaking 2026-07-28 (no handshake, the `_meta` envelope and the
 * MCP-Protocol-Version/Mcp-Method/Mcp-Name headers on every POST) each run every tool, in local mode
 * and in bearer mode, against the same server. Chat progress rides the call's own response and a
 * cancel aborts the upstream Chat stream, in both eras. In the new era every request is authorized on
 * its own, a conversation id is authorized on every call, and any replica answers any request, even
 * where 2025 clients get sticky sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import { useSandbox } from '../helpers/sandbox.js';
import { configFor } from '../helpers/config.js';
import { ERAS, UNKNOWN_PROGRESS, type Era } from '../helpers/eras.js';
import { eventually } from '../helpers/eventually.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { createMcpServer } from '../../src/server/mcp.js';
import { createLocalContext } from '../../src/server/local-context.js';
import { startHttpServer, type HttpServerHandle } from '../../src/server/http/app.js';
import { withHttpFlags } from '../../src/server/http/cli.js';
import { connect, silent, startLocalAndBearer } from './harness.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const token = (username: string) =>
  control().mintAccessToken({ username, clientId: sandbox().description.clients.isv });

let local: HttpServerHandle;
let bearer: HttpServerHandle;
let servers: Awaited<ReturnType<typeof startLocalAndBearer>> | undefined;

beforeAll(async () => {
  servers = await startLocalAndBearer(sandbox(), 'idc');
  ({ local, bearer } = servers);
});
afterAll(async () => {
  await servers?.close();
});

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
});

async function open(url: string, era: Era, t?: string) {
  const errors: Error[] = [];
  const { client } = await connect(url, t, { era });
  client.onerror = (e) => errors.push(e);
  clients.push(client);
  expect(client.getProtocolEra()).toBe(era);
  return { client, errors };
}

type Result = Awaited<ReturnType<Client['callTool']>>;
const textOf = (r: Result) => (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
const ok = async (client: Client, name: string, args: Record<string, unknown>) => {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, `${name}: ${textOf(result)}`).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
};

/** Every tool of the idc mode, each once and each successfully, as one conversation's life. */
async function everyTool(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools).toHaveLength(8);
  expect(await ok(client, 'whoami', {})).toMatchObject({
    signedIn: true,
    user: { email: 'alice@example.com' },
  });
  const found = await ok(client, 'search_relevant_content', {
    query: 'on-call escalation policy',
    maxResults: 3,
  });
  const passages = found.passages as Array<{ documentId: string }>;
  expect(passages.length).toBeGreaterThan(0);
  const doc = await ok(client, 'get_document', { documentId: passages[0]!.documentId, maxChars: 200 });
  expect(doc.text).toBeTruthy();
  const chat = await ok(client, 'chat', { message: 'What is the on-call escalation policy?' });
  const conversationId = chat.conversationId as string;
  const listed = await ok(client, 'list_conversations', { maxResults: 50 });
  expect(JSON.stringify(listed)).toContain(conversationId);
  const read = await ok(client, 'get_conversation', { conversationId });
  expect((read.messages as unknown[]).length).toBe(2);
  const rated = await ok(client, 'put_feedback', {
    conversationId,
    messageId: chat.systemMessageId,
    usefulness: 'USEFUL',
  });
  expect(rated).toMatchObject({ recorded: true });
  expect(await ok(client, 'delete_conversation', { conversationId })).toMatchObject({ deleted: true });
}

/** A streamed chat with progress: what arrived, in order. */
async function streamedChat(client: Client) {
  const events: string[] = [];
  const result = await client.callTool(
    { name: 'chat', arguments: { message: 'Explain the travel reimbursement limit in detail.' } },
    { onprogress: () => events.push('progress'), resetTimeoutOnProgress: true },
  );
  events.push('result');
  return { result, events };
}

/** Cancels a streamed chat at its first progress; true once the sandbox saw the upstream stream aborted. */
async function cancelReachesUpstream(client: Client): Promise<boolean> {
  const aborted = async () => (await control().counters())['qbusiness:Chat:aborted'] ?? 0;
  const before = await aborted();
  // The sandbox paces ~12 events; on a loaded machine the cancel may land after the last: three tries.
  for (let attempt = 0; attempt < 3; attempt++) {
    const controller = new AbortController();
    let progress = 0;
    const call = client.callTool(
      { name: 'chat', arguments: { message: 'Summarize the engineering on-call escalation policy.' } },
      {
        onprogress: () => {
          progress++;
          controller.abort('user cancelled');
        },
        signal: controller.signal,
      },
    );
    await expect(call).rejects.toThrow();
    expect(progress).toBeGreaterThan(0);
    if (await eventually(async () => (await aborted()) > before, 20)) return true;
  }
  return false;
}

describe.each(ERAS)('%s era over HTTP', (era) => {
  it('local mode: runs every tool as the signed-in user', async () => {
    const { client, errors } = await open(local.url, era);
    await everyTool(client);
    expect(errors).toEqual([]);
  });

  it("local mode: chat progress arrives on the call's own stream, before the result", async () => {
    await control().setFault('qbusiness:Chat', { latencyMs: 300 });
    try {
      const { client } = await open(local.url, era);
      const { result, events } = await streamedChat(client);
      expect(result.isError, textOf(result)).toBeFalsy();
      expect((result.structuredContent as { streamed: boolean }).streamed).toBe(true);
      expect(events.filter((e) => e === 'progress').length).toBeGreaterThan(0);
      expect(events.at(-1)).toBe('result');
    } finally {
      await control().clearFaults();
    }
  });

  it('local mode: cancelling a chat aborts the upstream Chat stream, and the server serves on', async () => {
    const { client, errors } = await open(local.url, era);
    expect(await cancelReachesUpstream(client)).toBe(true);
    await ok(client, 'whoami', {});
    expect(errors.map((e) => e.message).filter((m) => !UNKNOWN_PROGRESS.test(m))).toEqual([]);
  });

  it("bearer mode: runs every tool as the token's user", async () => {
    const { client, errors } = await open(bearer.url, era, await token('alice'));
    await everyTool(client);
    expect(errors).toEqual([]);
  });

  it("bearer mode: a conversation id is authorized on every call, another user's is not found", async () => {
    const [alice, bob] = await Promise.all([
      open(bearer.url, era, await token('alice')),
      open(bearer.url, era, await token('bob')),
    ]);
    expect(await ok(bob.client, 'whoami', {})).toMatchObject({ user: { email: 'bob@example.com' } });
    const chat = await ok(alice.client, 'chat', { message: 'Where is the Dublin office?' });
    const conversationId = chat.conversationId as string;
    const stolen = await bob.client.callTool({ name: 'get_conversation', arguments: { conversationId } });
    expect(stolen.isError).toBe(true);
    expect(textOf(stolen)).toMatch(/not found/i);
    const followUp = await bob.client.callTool({
      name: 'chat',
      arguments: { message: 'And the Berlin one?', conversationId, parentMessageId: chat.systemMessageId },
    });
    expect(followUp.isError).toBe(true);
    // Bob's delete finds nothing of his to delete; Alice's conversation is still there.
    await bob.client.callTool({ name: 'delete_conversation', arguments: { conversationId } });
    expect(await ok(alice.client, 'get_conversation', { conversationId })).toMatchObject({ conversationId });
    await ok(alice.client, 'delete_conversation', { conversationId });
  });

  it('local mode, nobody signed in: the in-band sign-in, then the call goes through', async () => {
    const d = sandbox().description;
    // A profile of its own per era: the memory token store lives as long as the process.
    const config = withHttpFlags(configFor(d, 'idc', { profile: `signed-out-${era}` }), { port: '0' });
    const ctx = createLocalContext(config, { logger: silent, env: {} });
    const server = await startHttpServer(config, {
      logger: silent,
      createServer: createMcpServer,
      localContext: ctx,
    });
    try {
      const { client } = await connect(server.url, undefined, {
        era,
        capabilities: { elicitation: { url: {} } },
      });
      clients.push(client);
      const asked: string[] = [];
      client.setRequestHandler('elicitation/create', async (request) => {
        const url = (request.params as { url: string }).url;
        asked.push(url);
        // The "user" opens the page and approves the code as erin.
        await control().approveDevice({
          userCode: new URL(url).searchParams.get('user_code')!,
          username: 'erin',
        });
        return { action: 'accept' };
      });
      const found = await client.callTool(
        { name: 'search_relevant_content', arguments: { query: 'contractor expenses' } },
        { timeout: 120_000 },
      );
      expect(found.isError, textOf(found)).toBeFalsy();
      expect(asked).toHaveLength(1);
      expect(await ok(client, 'whoami', {})).toMatchObject({ user: { email: 'erin@example.com' } });
    } finally {
      await server.close();
      ctx.dispose();
    }
  });
});
