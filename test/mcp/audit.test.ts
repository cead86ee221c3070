/**
 * The audit trail over stdio: with `http.audit.file` set, the served process appends one line per tool
 * call naming the signed-in user by hash only, the tool, the outcome and the Q request id, never the
 * query text; without it, nothing audit-shaped reaches stderr.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useSandbox } from '../helpers/sandbox.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';
import { subjectHash } from '../../src/telemetry/audit.js';
import { ensureBuilt, startServer } from './harness.js';

const sandbox = useSandbox();
const CANARY = `canary-query-${randomBytes(6).toString('hex')}`;
beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

describe('audit trail over stdio', () => {
  it('writes one line per tool call to http.audit.file, without the query text', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'qindex-audit-')), 'audit.jsonl');
    const server = await startServer(sandbox(), { overrides: { http: { audit: { file } } } });
    try {
      await server.client.callTool({ name: 'search_relevant_content', arguments: { query: CANARY } });
      await server.client.callTool({ name: 'whoami', arguments: {} });
    } finally {
      await server.close();
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const [search, whoami] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const user = subjectHash(sandbox().description.issuer, subjectOf('alice'), undefined);
    expect(search).toMatchObject({
      audit: 'tool_call',
      tool: 'search_relevant_content',
      outcome: 'ok',
      user,
    });
    expect(search!.qRequestId).toMatch(/^[\w-]{8,}$/);
    expect(whoami).toMatchObject({ tool: 'whoami', outcome: 'ok', user });
    expect(lines.join('\n')).not.toContain(CANARY);
    expect(lines.join('\n')).not.toContain('alice');
  });

  it('writes nothing without a file', async () => {
    const server = await startServer(sandbox());
    try {
      await server.client.callTool({ name: 'whoami', arguments: {} });
    } finally {
      await server.close();
    }
    expect(server.stderr()).not.toContain('"audit":"tool_call"');
  });
});
