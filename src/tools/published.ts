/**
 * @module A tool as tools/list publishes it: compact JSON Schema made once per tool from its zod schemas,
 * which stay the validators (the SDK parses every call with them). SDK 1.x rendered them as draft-07
 * with `$schema` on every schema, a 300-character regex beside each `format: date-time`, safe-integer
 * bounds on every integer and `allOf` around each described `$ref`: 36 KB for eight tools. Here: 2020-12
 * (MCP's default dialect, so no `$schema`), shared pieces once in `$defs`, and a `type` beside every
 * `$ref` so that clients reading only `type` see an object, not a string.
 */
import { z } from 'zod';
import type { Tool, ToolAnnotations } from '@modelcontextprotocol/server';
import type { ToolDefinition } from './define-tool.js';

type Schema = Record<string, unknown>;

const published = new WeakMap<ToolDefinition, Tool>();

/** The tools/list entry for `def`, built on first use (HTTP builds a server per session). */
export function publishedTool(def: ToolDefinition): Tool {
  let tool = published.get(def);
  if (!tool) {
    tool = {
      name: def.name,
      title: def.title,
      description: def.description,
      inputSchema: jsonSchemaOf(def.inputSchema, 'input') as Tool['inputSchema'],
      outputSchema: jsonSchemaOf(def.outputSchema, 'output') as Tool['outputSchema'],
      annotations: meaningful(def.annotations),
    };
    published.set(def, tool);
  }
  return tool;
}

/** MCP: destructiveHint and idempotentHint mean something only when readOnlyHint is false. */
function meaningful(annotations: ToolAnnotations): ToolAnnotations {
  if (!annotations.readOnlyHint) return annotations;
  const { destructiveHint: _d, idempotentHint: _i, ...rest } = annotations;
  return rest;
}

export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): Schema {
  const root = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Schema;
  delete root.$schema;
  compact(root, io);
  // An argument that is a $ref still says its type: clients that read only `type` would send a string.
  const defs = (root.$defs ?? {}) as Record<string, Schema>;
  for (const prop of Object.values((root.properties ?? {}) as Record<string, Schema>)) {
    const target = typeof prop.$ref === 'string' ? defs[prop.$ref.replace(/^#\/\$defs\//, '')] : undefined;
    if (target?.type !== undefined && prop.type === undefined) prop.type = target.type;
  }
  return root;
}

/** Drops what adds bytes but no meaning for a client (zod still checks all of it), in place. */
function compact(node: unknown, io: 'input' | 'output'): void {
  if (Array.isArray(node)) {
    for (const item of node) compact(item, io);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const s = node as Schema;
  // `format` says it; zod's regex for it is 305 characters.
  if (s.format === 'date-time') delete s.pattern;
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
  // JSON object keys are strings anyway.
  if (isPlainStringSchema(s.propertyNames)) delete s.propertyNames;
  // Results are ours: "no other keys" tells a client nothing it needs (arguments keep it).
  if (io === 'output' && s.additionalProperties === false) delete s.additionalProperties;
  for (const child of Object.values(s)) compact(child, io);
}

const isPlainStringSchema = (s: unknown) =>
  typeof s === 'object' && s !== null && Object.keys(s).length === 1 && (s as Schema).type === 'string';
