/**
 * @module fast-check arbitraries from the JSON Schemas the server publishes in tools/list (the draft-07
 * subset zod emits: type, properties, required, additionalProperties, items, min/max lengths and items,
 * pattern, format date-time, enum, minimum/maximum, anyOf/oneOf/allOf, $ref into definitions). At every
 * node a value is valid or, with a small weight, broken in one way that schema forbids: wrong type, one
 * past a bound, a pattern miss, a lone UTF-16 surrogate, an unknown or missing property.
 */
import fc from 'fast-check';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  definitions?: Record<string, JsonSchema>;
  $defs?: Record<string, JsonSchema>;
}

export interface SchemaArbOptions {
  /** Weight of a broken value at each node against 12 for a valid one (0: valid values only). */
  breakWeight?: number;
  /** How deep recursive definitions may nest before only non-recursive choices remain. */
  maxDepth?: number;
  /**
   * Definitions whose objects carry exactly one of their properties: a rule the JSON Schema cannot say
   * (zod's refine). Without it nearly every generated attribute filter would be refused before Q sees it.
   */
  exactlyOne?: string[];
  /** Known-good values by property name (ids from earlier results), picked now and then. */
  pools?: Record<string, string[]>;
}

/** Characters that break things: lone surrogates, NUL and controls, bidi marks, a BOM, astral ones. */
const nasty = fc.constantFrom(
  '\uD800',
  '\uDFFF',
  '\uDBFF\uDBFF',
  '\u0000',
  '\u001b',
  '\u2028',
  '\u202E',
  '\uFEFF',
  '\uFFFD',
  '\u{1F600}',
  '%',
  '%E0%A4%A',
  '\\',
  '"',
  '\n',
  '../',
  '${x}',
  '__proto__',
);
const nastyUnit = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 1, minLength: 1 }) },
  nasty,
);

/** A string of `min`..`max` characters, now and then with nasty ones in it. */
function text(min: number, max: number): fc.Arbitrary<string> {
  const cap = Math.min(max, Math.max(min, 48));
  const plain = fc.string({ minLength: min, maxLength: cap });
  const dirty = fc
    .array(nastyUnit, { minLength: Math.max(1, min), maxLength: Math.max(1, Math.min(cap, 24)) })
    .map((parts) => parts.join(''))
    .filter((s) => s.length >= min && s.length <= max);
  const edges: fc.Arbitrary<string>[] = [];
  if (max > cap && max <= 20_000) edges.push(fc.constant('x'.repeat(max)));
  return fc.oneof({ weight: 8, arbitrary: plain }, { weight: 3, arbitrary: dirty }, ...edges);
}

const typesOf = (s: JsonSchema): string[] => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

/** Any JSON value whose JSON type is not one of `types` (a wrong-type value for that node). */
function wrongType(types: string[]): fc.Arbitrary<unknown> {
  const all: Array<[string, fc.Arbitrary<unknown>]> = [
    ['null', fc.constant(null)],
    ['boolean', fc.boolean()],
    ['integer', fc.integer()],
    ['number', fc.double({ noNaN: true, noDefaultInfinity: true })],
    ['string', fc.string({ maxLength: 8 })],
    ['array', fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 })],
    ['object', fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })],
  ];
  const allowed = new Set(types);
  if (allowed.has('number')) allowed.add('integer');
  const picks = all.filter(([t]) => !allowed.has(t)).map(([, a]) => a);
  return fc.oneof(...picks);
}

export function arbitraryFor(root: JsonSchema, options: SchemaArbOptions = {}): fc.Arbitrary<unknown> {
  const breakWeight = options.breakWeight ?? 1;
  const maxDepth = options.maxDepth ?? 3;
  const exactlyOne = new Set(options.exactlyOne ?? []);
  const defs = { ...root.definitions, ...root.$defs };
  const memo = new Map<string, fc.Arbitrary<unknown>>();

  const refName = (ref: string) => ref.replace(/^#\/(definitions|\$defs)\//, '');
  const resolve = (s: JsonSchema): JsonSchema => {
    if (s.$ref) return defs[refName(s.$ref)] ?? {};
    if (s.allOf && s.allOf.length === 1 && !s.type) return resolve(s.allOf[0]!);
    return s;
  };
  /** Does `s` lead (through $refs) back into definition `target`, i.e. may it recurse? */
  const reaches = (s: JsonSchema, target: string | undefined, seen = new Set<string>()): boolean => {
    if (!target) return false;
    if (s.$ref) {
      const n = refName(s.$ref);
      if (n === target) return true;
      if (seen.has(n)) return false;
      seen.add(n);
      return reaches(defs[n] ?? {}, target, seen);
    }
    return [
      ...Object.values(s.properties ?? {}),
      ...(s.items ? [s.items] : []),
      ...(s.anyOf ?? []),
      ...(s.oneOf ?? []),
      ...(s.allOf ?? []),
    ].some((c) => reaches(c, target, seen));
  };

  /** `prop`: the property this value is for (pools); `def`: the definition this schema is the body of. */
  function node(s: JsonSchema, depth: number, prop?: string, def?: string): fc.Arbitrary<unknown> {
    if (s.$ref) {
      const key = `${s.$ref}@${depth}`;
      let arb = memo.get(key);
      if (!arb) {
        // Each level of a recursive definition is its own arbitrary, one deeper than the last.
        arb = node(defs[refName(s.$ref)] ?? {}, depth + 1, prop, refName(s.$ref));
        memo.set(key, arb);
      }
      return arb;
    }
    const valid = validNode(s, depth, prop, def);
    if (breakWeight <= 0) return valid;
    return fc.oneof({ weight: 12, arbitrary: valid }, { weight: breakWeight, arbitrary: broken(s) });
  }

  function validNode(s: JsonSchema, depth: number, prop?: string, def?: string): fc.Arbitrary<unknown> {
    if (s.allOf?.length) return node(s.allOf[0]!, depth, prop);
    const alts = s.anyOf ?? s.oneOf;
    if (alts?.length) return fc.oneof(...alts.map((a) => node(a, depth, prop)));
    if (s.enum?.length) return fc.constantFrom(...s.enum);
    const type = typesOf(s)[0] ?? 'object';
    switch (type) {
      case 'string':
        return stringNode(s, prop);
      case 'integer':
        return fc.integer({
          min: Math.max(s.minimum ?? -(2 ** 31), Number.MIN_SAFE_INTEGER),
          max: Math.min(s.maximum ?? 2 ** 31, Number.MAX_SAFE_INTEGER),
        });
      case 'number':
        return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array': {
        const min = s.minItems ?? 0;
        const max = Math.min(s.maxItems ?? 4, min + 3);
        return fc.array(node(s.items ?? {}, depth), { minLength: min, maxLength: max });
      }
      default:
        return objectNode(s, depth, def);
    }
  }

  function stringNode(s: JsonSchema, name?: string): fc.Arbitrary<unknown> {
    let arb: fc.Arbitrary<string>;
    if (s.format === 'date-time') {
      arb = fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString());
    } else if (s.pattern) {
      arb = fc.stringMatching(new RegExp(s.pattern));
    } else {
      arb = text(s.minLength ?? 0, s.maxLength ?? 64);
    }
    const pool = name ? options.pools?.[name] : undefined;
    return pool?.length
      ? fc.oneof({ weight: 2, arbitrary: arb }, { weight: 3, arbitrary: fc.constantFrom(...pool) })
      : arb;
  }

  function objectNode(s: JsonSchema, depth: number, def?: string): fc.Arbitrary<unknown> {
    const props = Object.entries(s.properties ?? {});
    // Past the depth budget only the choices that do not recurse remain.
    const usable = depth > maxDepth ? props.filter(([, p]) => !reaches(p, def)) : props;
    if (depth > maxDepth + 4 && !usable.length) return fc.constant({});
    const one =
      (def !== undefined && exactlyOne.has(def)) || (s.minProperties === 1 && s.maxProperties === 1);
    if (one && props.length) {
      const choices = (usable.length ? usable : props).map(([k, p]) =>
        node(p, depth, k).map((v) => ({ [k]: v })),
      );
      return fc.oneof(...choices);
    }
    const required = s.required ?? [];
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const [k, p] of usable) model[k] = node(p, depth, k);
    for (const k of required) model[k] ??= node(s.properties?.[k] ?? {}, depth, k);
    return fc.record(model, { requiredKeys: required });
  }

  /** One way the schema forbids, for this node. */
  function broken(raw: JsonSchema): fc.Arbitrary<unknown> {
    const s = resolve(raw);
    const types = typesOf(s);
    const ways: fc.Arbitrary<unknown>[] = [wrongType(types.length ? types : ['object'])];
    if (types.includes('string') || s.pattern || s.format) {
      const max = s.maxLength ?? 2048;
      ways.push(
        fc.integer({ min: 1, max: 64 }).map((n) => 'y'.repeat(max + n)),
        fc.constant(''),
        fc.array(nasty, { minLength: 1, maxLength: 6 }).map((p) => p.join('')),
        fc.constantFrom('\uD800', 'a\uDC00b', `${'x'.repeat(10)}\uD83D`, '\u0000', ' '),
      );
    }
    if (types.includes('integer') || types.includes('number')) {
      const min = s.minimum ?? 0;
      const max = s.maximum ?? 100;
      ways.push(
        fc.constantFrom(min - 1, max + 1, min + 0.5, 1e308, -1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 64),
      );
    }
    if (types.includes('array')) {
      const min = s.minItems ?? 0;
      const max = s.maxItems ?? 20;
      if (min > 0) ways.push(fc.constant([]));
      ways.push(fc.integer({ min: max + 1, max: max + 5 }).map((n) => Array.from({ length: n }, () => ({}))));
    }
    if (s.enum?.length) {
      ways.push(
        fc.constantFrom(...s.enum.map((e) => (typeof e === 'string' ? e.toLowerCase() : `${String(e)}x`))),
      );
    }
    if (types.includes('object') || s.properties) {
      const keys = Object.keys(s.properties ?? {});
      ways.push(
        fc.constant({}),
        fc.record({ unexpected: fc.jsonValue({ maxDepth: 1 }) }),
        fc.constant({ __proto__: { polluted: true }, constructor: { prototype: { polluted: true } } }),
      );
      if (keys.length > 1) ways.push(fc.constant(Object.fromEntries(keys.map((k) => [k, {}]))));
    }
    return fc.oneof(...ways);
  }

  return node(root, 0);
}

/**
 * A chain of `depth` nested objects along the first self-referencing property of a definition the tool's
 * schema uses (for attributeFilter: notFilter inside notFilter …), ending in a non-recursive choice.
 * Returns undefined when the schema has no recursion.
 */
export function deepValue(root: JsonSchema, depth: number, via?: 'single' | 'array'): unknown {
  const defs = { ...root.definitions, ...root.$defs };
  for (const [prop, ps] of Object.entries(root.properties ?? {})) {
    const ref = findRef(ps);
    if (!ref) continue;
    const name = ref.replace(/^#\/(definitions|\$defs)\//, '');
    const def = defs[name];
    if (!def?.properties) continue;
    const self = Object.entries(def.properties).filter(([, p]) => findRef(p) === ref);
    const pick = self.find(([, p]) => (via === 'array' ? p.type === 'array' : p.type !== 'array')) ?? self[0];
    if (!pick) continue;
    const [key, schema] = pick;
    const leafKey = Object.keys(def.properties).find((k) => !self.some(([s]) => s === k));
    let value: unknown = leafKey
      ? { [leafKey]: { name: 'department', value: { stringValue: 'engineering' } } }
      : {};
    for (let i = 0; i < depth; i++) value = { [key]: schema.type === 'array' ? [value] : value };
    return { prop, value };
  }
  return undefined;
}

function findRef(s: JsonSchema): string | undefined {
  if (s.$ref) return s.$ref;
  if (s.items) return findRef(s.items);
  for (const c of [...(s.allOf ?? []), ...(s.anyOf ?? [])]) {
    const r = findRef(c);
    if (r) return r;
  }
  return undefined;
}
