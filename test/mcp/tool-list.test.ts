/**
 * @module The published tool list, read as raw bytes from the built CLI's stdout in each mode: at most
 * 12 KB in all (idc lists every tool, data-accessor search and whoami), attributeFilter typed as an
 * object, the filter grammar once per tool in `$defs`, no 300-character date regex. The published
 * schema is checked with the validator MCP clients use (the SDK's Ajv) against the same arguments as the
 * tools' own zod schemas: both accept and refuse alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/client/validators/ajv';
import { chat } from '../../src/tools/chat.js';
import { searchRelevantContent } from '../../src/tools/search-relevant-content.js';
import { useSandbox } from '../helpers/sandbox.js';
import type { SandboxMode } from '../helpers/config.js';
import { ensureBuilt } from './harness.js';
import { spawnRaw, type RawServer } from './raw-server.js';

const sandbox = useSandbox();
const MAX_BYTES = 12 * 1024;

interface Schema {
  type?: string;
  $ref?: string;
  pattern?: string;
  properties?: Record<string, Schema>;
  $defs?: Record<string, Schema>;
}
interface ListedTool {
  name: string;
  inputSchema: Schema;
  outputSchema?: Schema;
}

const servers: RawServer[] = [];
afterAll(() => servers.forEach((s) => s.close()));

/** The tools/list answer exactly as the server wrote it: its stdout line and what it says. */
async function toolsList(mode: SandboxMode): Promise<{ bytes: number; tools: ListedTool[] }> {
  await ensureBuilt();
  const server = await spawnRaw(sandbox(), { mode });
  servers.push(server);
  const id = server.nextId();
  server.send({ jsonrpc: '2.0', id, method: 'tools/list', params: {} });
  const message = await server.response(id);
  const line = server.lines.find((l) => (JSON.parse(l) as { id?: unknown }).id === id)!;
  return { bytes: Buffer.byteLength(line, 'utf8'), tools: (message.result as { tools: ListedTool[] }).tools };
}

const listed: Partial<Record<SandboxMode, { bytes: number; tools: ListedTool[] }>> = {};

beforeAll(async () => {
  [listed.idc, listed['data-accessor']] = await Promise.all([toolsList('idc'), toolsList('data-accessor')]);
}, 120_000);

describe('tools/list size', () => {
  it.each([
    ['idc', 8],
    ['data-accessor', 2],
  ] as const)('is at most 12 KB in %s mode (%i tools)', (mode, count) => {
    const list = listed[mode]!;
    console.log(`tools/list in ${mode} mode: ${list.bytes} bytes, ${list.tools.length} tools`);
    expect(list.tools).toHaveLength(count);
    expect(list.bytes).toBeLessThanOrEqual(MAX_BYTES);
  });
});

describe('attributeFilter as published', () => {
  const filterTools = () => listed.idc!.tools.filter((t) => t.inputSchema.properties?.attributeFilter);

  it('says type object, refers to one $defs entry, and carries no long regex', () => {
    expect(filterTools().map((t) => t.name)).toEqual(['search_relevant_content', 'chat']);
    for (const t of filterTools()) {
      const prop = t.inputSchema.properties!.attributeFilter!;
      expect(prop.type, t.name).toBe('object');
      expect(prop.$ref, t.name).toBe('#/$defs/AttributeFilter');
      expect(t.inputSchema.$defs?.AttributeFilter?.type).toBe('object');
      const json = JSON.stringify(t);
      expect(json).toContain('"format":"date-time"');
      const patterns = [...json.matchAll(/"pattern":"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
      for (const p of patterns) expect(p.length, `${t.name} ${p}`).toBeLessThan(60);
    }
  });

  it('accepts and refuses the same arguments as the zod schema, in the validator clients use', () => {
    const ajv = new AjvJsonSchemaValidator();
    const leaf = { equalsTo: { name: '_category', value: { stringValue: 'office guide' } } };
    const date = { greaterThan: { name: '_created_at', value: { dateValue: '2024-01-31T00:00:00Z' } } };
    const samples: unknown[] = [
      leaf,
      date,
      { andAllFilters: [leaf, { notFilter: date }] },
      { orAllFilters: [{ containsAny: { name: 'tags', value: { stringListValue: ['vpn'] } } }] },
      { lessThanOrEquals: { name: 'word_count', value: { longValue: 300 } } },
      JSON.stringify(leaf),
      {},
      { ...leaf, ...date },
      { department: 'finance' },
      { equalsTo: { name: '_category', value: 'office guide' } },
      { equalsTo: { name: '_category', value: { stringValue: 'a', longValue: 1 } } },
      { equalsTo: { name: '_category', value: {} } },
      { equalsTo: { name: 'bad name', value: { stringValue: 'a' } } },
      { greaterThan: { name: '_created_at', value: { dateValue: 'yesterday' } } },
      { andAllFilters: [] },
      { containsAll: { name: 'tags', value: { stringListValue: [] } } },
    ];
    for (const def of [searchRelevantContent, chat]) {
      const published = listed.idc!.tools.find((t) => t.name === def.name)!;
      const validate = ajv.getValidator(published.inputSchema as never);
      const base = def.name === 'chat' ? { message: 'hi' } : { query: 'office' };
      for (const attributeFilter of samples) {
        const args = { ...base, attributeFilter };
        const zod = def.inputSchema.safeParse(args).success;
        expect(validate(args).valid, `${def.name} ${JSON.stringify(attributeFilter)}`).toBe(zod);
      }
      // The samples cover both verdicts.
      expect(
        samples.filter((f) => def.inputSchema.safeParse({ ...base, attributeFilter: f }).success),
      ).toHaveLength(5);
    }
  });
});
