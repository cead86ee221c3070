/**
 * @module docs/configuration.md's settings table lists exactly the settings of the one table in
 * src/config/flags.ts (field, variable, flag, default, meaning), every field outside `http` has a row,
 * and nothing in src/ outside src/config reads a setting from the environment.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config/flags.js';
import {
  CONFIGURATION_DOC,
  TABLE_END,
  TABLE_HEADER,
  TABLE_START,
  configurationDocText,
  fieldSchema,
  settingsRows,
} from '../../tools/config-docs.js';
import { ConfigFieldsSchema } from '../../src/config/schema.js';
import { z } from 'zod';

/** The rows of the page's settings table, as trimmed cells. */
async function documentedRows(): Promise<string[][]> {
  const text = await readFile(CONFIGURATION_DOC, 'utf8');
  const start = text.indexOf(TABLE_START);
  const end = text.indexOf(TABLE_END);
  expect(start, 'the settings table markers').toBeGreaterThan(0);
  const lines = text
    .slice(start + TABLE_START.length, end)
    .split('\n')
    .filter((l) => l.startsWith('|'));
  const cells = lines.map((l) =>
    l
      .slice(1, -1)
      .split(' | ')
      .map((c) => c.trim()),
  );
  expect(cells[0]).toEqual([...TABLE_HEADER]);
  return cells.slice(2);
}

/** Every leaf path of an object schema (mode: of all its variants); `http` is docs/http.md's. */
function leaves(schema: z.ZodType, prefix = ''): string[] {
  let s: z.ZodType = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  if (s instanceof z.ZodDiscriminatedUnion) {
    return [...new Set((s.options as z.ZodType[]).flatMap((o) => leaves(o, prefix)))];
  }
  if (!(s instanceof z.ZodObject)) return [prefix];
  return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([k, v]) =>
    leaves(v, prefix ? `${prefix}.${k}` : k),
  );
}

describe('docs/configuration.md', () => {
  it('lists exactly the settings of the table, with their variables, flags, defaults and meanings', async () => {
    const documented = await documentedRows();
    expect(documented).toEqual(settingsRows());
    const column = (i: number) => documented.map((r) => r[i]!.split(' ')[0]!.replaceAll('`', ''));
    expect(column(0).filter((f) => f !== '—')).toEqual(SETTINGS.flatMap((s) => (s.path ? [s.path] : [])));
    expect(column(1).filter((v) => v !== '—')).toEqual(SETTINGS.flatMap((s) => (s.env ? [s.env] : [])));
    expect(column(2).filter((f) => f !== '—')).toEqual(
      SETTINGS.flatMap((s) => (s.flag ? [`--${s.flag}`] : [])),
    );
  });

  it('is what `npm run gen:schema` writes', async () => {
    expect(await readFile(CONFIGURATION_DOC, 'utf8'), 'stale: run `npm run gen:schema`').toBe(
      await configurationDocText(),
    );
  });

  it('every field outside http has a row, and every row names a field of the schema', () => {
    const fields = leaves(ConfigFieldsSchema).filter((p) => p !== '$schema' && !p.startsWith('http.'));
    const inTable = new Set(SETTINGS.flatMap((s) => (s.path ? [s.path] : [])));
    expect(fields.filter((f) => !inTable.has(f))).toEqual([]);
    for (const path of inTable) expect(fieldSchema(path), path).toBeDefined();
    const vars = SETTINGS.flatMap((s) => (s.env ? [s.env] : []));
    const flags = SETTINGS.flatMap((s) => (s.flag ? [s.flag] : []));
    expect(new Set(vars).size).toBe(vars.length);
    expect(new Set(flags).size).toBe(flags.length);
  });
});

describe('src/config is the only reader of settings', () => {
  it('no QINDEX_ variable is read outside src/config', async () => {
    const src = join(import.meta.dirname, '..', '..', 'src');
    const files = (await readdir(src, { recursive: true })).filter(
      (f) => f.endsWith('.ts') && !f.startsWith(`config/`) && !f.startsWith('config\\'),
    );
    const reads: string[] = [];
    for (const f of files) {
      const text = await readFile(join(src, f), 'utf8');
      // env.QINDEX_X, env['QINDEX_X'], process.env.QINDEX_X: a read; the name in a message is not.
      for (const m of text.matchAll(/\benv(?:\?\.|\.|\[\s*['"`])(QINDEX_\w+)/g)) reads.push(`${f}: ${m[1]}`);
    }
    expect(reads).toEqual([]);
  });
});
