/**
 * The telemetry base without a server: the facade records nothing (and loads nothing) until enabled,
 * prom-client and the OTel API are imported by `import()` only, the audit sink writes one line per record
 * with arguments only when opted in, and the user hash is the HTTP server's key.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAuditSink, subjectHash } from './audit.js';
import { metrics } from './metrics.js';
import { inSpan, tracing } from './trace.js';

const SRC = new URL('..', import.meta.url).pathname;
const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });

describe('telemetry base', () => {
  it('is off until enabled: no-op metrics, spans that just run the function', async () => {
    expect(metrics.enabled).toBe(false);
    expect(tracing.enabled).toBe(false);
    metrics.toolCall('whoami', 'default', 'ok', 0.01);
    metrics.httpResponse(401);
    const remove = metrics.gauge('sessions', () => 1);
    remove();
    expect(await inSpan('x', {}, async () => 42)).toBe(42);
  });

  it('never imports prom-client or @opentelemetry/api statically (the stdio cold start)', () => {
    const offenders = files(SRC).filter((f) =>
      /^import (?!type )[^;]*from '(prom-client|@opentelemetry\/api)'/m.test(readFileSync(f, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('writes one audit line per call, arguments only when opted in, token shapes blanked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qindex-audit-'));
    const record = {
      tenant: 'acme',
      user: subjectHash('https://idp', 'alice', 'acme'),
      client: 'agent',
      tool: 'search_relevant_content',
      outcome: 'ok',
      qRequestId: 'req-1',
      ms: 12,
      arguments: { query: 'canary-text eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig' },
    };
    const plain = createAuditSink({ file: join(dir, 'a.jsonl') });
    plain.write(record);
    plain.write(record);
    plain.close();
    const lines = readFileSync(join(dir, 'a.jsonl'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    const { arguments: _args, ...fields } = record;
    expect(JSON.parse(lines[0]!)).toEqual({ time: expect.any(String), audit: 'tool_call', ...fields });
    expect(lines[0]).not.toContain('canary-text');
    expect(statSync(join(dir, 'a.jsonl')).mode & 0o777).toBe(0o600);

    const opted = createAuditSink({ file: join(dir, 'b.jsonl'), includeQueries: true });
    opted.write(record);
    opted.close();
    const line = readFileSync(join(dir, 'b.jsonl'), 'utf8');
    expect(line).toContain('canary-text');
    expect(line).not.toContain('eyJhbGciOiJub25lIn0');
  });

  it('hashes the user as the HTTP server keys them: stable, distinct per tenant, not the subject', () => {
    const a = subjectHash('https://idp', 'alice', undefined);
    expect(a).toBe(subjectHash('https://idp', 'alice', undefined));
    expect(a).not.toBe(subjectHash('https://idp', 'alice', 'acme'));
    expect(a).toMatch(/^[\w-]{43}$/);
    expect(a).not.toContain('alice');
  });
});
