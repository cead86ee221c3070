/**
 * @module A configured Q id that Q does not know (q.applicationId, q.retrieverId, q.indexId), through the
 * MCP tools of the built CLI against the sandbox: a configuration error naming the field and where it was
 * set (the config file, the environment variable or the flag), addressed to whoever configured the
 * server, instead of `q_not_found` with advice about conversation ids. Ids the user passes still get that.
 */
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQClient } from '../../src/q/client.js';
import { isQindexError, type QindexError } from '../../src/errors.js';
import { useSandbox } from '../helpers/sandbox.js';
import { configFor } from '../helpers/config.js';
import { sessionFor } from '../helpers/credentials.js';
import { ensureBuilt, startServer, text, type ServerUnderTest } from './harness.js';
import { createLogger } from '../../src/log.js';

const sandbox = useSandbox();
const WRONG_APP = 'a1b2c3d4-5678-90ab-cdef-00000000dead';
const WRONG_RETRIEVER = 'ret00000-0000-4000-8000-00000000dead';
const WRONG_INDEX = 'idx00000-0000-4000-8000-00000000dead';
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The harness writes the configuration to <tmpdir>/qindex-mcp-test-*\/config.json. */
const inConfigFile = (field: string) =>
  new RegExp(`${escape(field)} \\(in ${escape(tmpdir())}/qindex-mcp-test-\\w+/config\\.json\\)`);

const servers: ServerUnderTest[] = [];
const start = async (options: Parameters<typeof startServer>[1]) => {
  const s = await startServer(sandbox(), options);
  servers.push(s);
  return s;
};
beforeAll(() => ensureBuilt(), 120_000);
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

const call = async (s: ServerUnderTest, name: string, args: Record<string, unknown>) => {
  const result = await s.client.callTool({ name, arguments: args });
  return { isError: result.isError === true, text: text(result) };
};

describe('a configured id Q does not know', () => {
  it('q.applicationId: every tool says which field, in which file, and not conversation ids', async () => {
    const s = await start({ overrides: { q: { applicationId: WRONG_APP } } });
    const d = sandbox().description;
    for (const [tool, args] of [
      ['search_relevant_content', { query: 'vpn' }],
      ['chat', { message: 'How do I set up the VPN?' }],
      ['list_conversations', {}],
    ] as const) {
      const r = await call(s, tool, args);
      expect(r.isError, r.text).toBe(true);
      expect(r.text).toContain(`there is no Amazon Q Business application ${WRONG_APP} in ${d.qRegion}`);
      expect(r.text).toMatch(inConfigFile('q.applicationId'));
      expect(r.text).toMatch(/What to do: Set q\.applicationId in \/\S+\/config\.json to the id of/);
      expect(r.text).toContain('(code: config_invalid)');
      expect(r.text).not.toMatch(/conversation, message and document ids|q_not_found/);
    }
  });

  it('q.retrieverId: names the field, the file and the application it is not in', async () => {
    const s = await start({ overrides: { q: { retrieverId: WRONG_RETRIEVER } } });
    const app = sandbox().description.modes.idc.applicationId;
    const r = await call(s, 'search_relevant_content', { query: 'vpn' });
    expect(r.isError, r.text).toBe(true);
    expect(r.text).toContain(`application ${app} has no retriever ${WRONG_RETRIEVER}`);
    expect(r.text).toMatch(inConfigFile('q.retrieverId'));
    expect(r.text).toContain(`aws qbusiness list-retrievers --application-id ${app}`);
    expect(r.text).toContain('(code: config_invalid)');
  });

  it('names the environment variable or the flag when that is where the value came from', async () => {
    const fromEnv = await start({ env: { QINDEX_Q_RETRIEVER_ID: WRONG_RETRIEVER } });
    const r = await call(fromEnv, 'search_relevant_content', { query: 'vpn' });
    expect(r.text).toContain('q.retrieverId (from environment variable QINDEX_Q_RETRIEVER_ID)');
    expect(r.text).toContain('What to do: Set the environment variable QINDEX_Q_RETRIEVER_ID to a retriever');

    const fromFlag = await start({ serveArgs: ['--index-id', WRONG_INDEX] });
    const found = await call(fromFlag, 'search_relevant_content', { query: 'holiday calendar 2026' });
    expect(found.isError, found.text).toBe(false);
    const doc = await call(fromFlag, 'get_document', { documentId: 'guide-holiday-calendar-2026' });
    expect(doc.isError, doc.text).toBe(true);
    expect(doc.text).toContain(`has no index ${WRONG_INDEX}; it comes from q.indexId (from flag --index-id)`);
    expect(doc.text).toContain('What to do: Pass --index-id to an index of application');
  });

  it('in data-accessor mode, says the customer hands the ids over', async () => {
    const s = await start({ mode: 'data-accessor', overrides: { q: { retrieverId: WRONG_RETRIEVER } } });
    const r = await call(s, 'search_relevant_content', { query: 'vpn' });
    expect(r.text).toMatch(inConfigFile('q.retrieverId'));
    expect(r.text).toContain('The customer hands these ids over with the data accessor.');
  });

  it('an id the user passed that Q does not know is still q_not_found, with its own advice', async () => {
    const s = await start({});
    const r = await call(s, 'get_conversation', { conversationId: 'c0000000-0000-4000-8000-00000000dead' });
    expect(r.isError, r.text).toBe(true);
    expect(r.text).toContain('(code: q_not_found)');
    expect(r.text).toContain('conversation, message and document ids come from earlier results');
  });

  it('is addressed to whoever configured the server (fixBy operator), not the user', async () => {
    const sb = sandbox();
    const { credentials } = await sessionFor(sb, 'alice', 'idc');
    const config = configFor(sb.description, 'idc', { q: { applicationId: WRONG_APP } });
    const q = createQClient(config, {
      credentials: async () => credentials,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const e = (await q.search({ queryText: 'vpn' }).catch((err: unknown) => err)) as QindexError;
      expect(isQindexError(e)).toBe(true);
      expect({ code: e.code, fixBy: e.fixBy, retryable: e.retryable }).toEqual({
        code: 'config_invalid',
        fixBy: 'operator',
        retryable: false,
      });
      // Not loaded from a file here: the field is named, no place is made up.
      expect(e.message).toContain('it comes from q.applicationId.');
      expect(e.remedy).toContain('Set q.applicationId in the configuration to the id of');
    } finally {
      q.destroy();
    }
  });
});
