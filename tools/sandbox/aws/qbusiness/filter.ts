/**
 * @module The AttributeFilter grammar of the Q Business model (equalsTo, containsAll, containsAny,
 * greaterThan[OrEquals], lessThan[OrEquals], andAllFilters, orAllFilters, notFilter): parsed from the
 * wire once per request, then evaluated against each document's attributes.
 */
import type { AttributeValue } from '../../corpus/index.js';
import { validationError } from './errors.js';

export type Filter =
  | { op: 'and' | 'or'; filters: Filter[] }
  | { op: 'not'; filter: Filter }
  | { op: Comparison; name: string; value: AttributeValue };

type Comparison =
  | 'equalsTo'
  | 'containsAll'
  | 'containsAny'
  | 'greaterThan'
  | 'greaterThanOrEquals'
  | 'lessThan'
  | 'lessThanOrEquals';

const COMPARISONS: Comparison[] = [
  'equalsTo',
  'containsAll',
  'containsAny',
  'greaterThan',
  'greaterThanOrEquals',
  'lessThan',
  'lessThanOrEquals',
];
const MEMBERS = ['andAllFilters', 'orAllFilters', 'notFilter', ...COMPARISONS];
const KEY_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9_-]*$/;
const MAX_DEPTH = 10;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Turns the wire value (a union; dates are epoch seconds) into an AttributeValue, or refuses it. */
function parseValue(raw: unknown, path: string): AttributeValue {
  const bad = (why: string) => validationError(`${path}: ${why}`, [{ name: path, message: why }]);
  if (!isObject(raw)) throw bad('a DocumentAttributeValue is required');
  const set = Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k] !== null);
  if (set.length !== 1)
    throw bad('exactly one of stringValue, stringListValue, longValue, dateValue must be set');
  const v = raw[set[0]!];
  switch (set[0]) {
    case 'stringValue':
      if (typeof v !== 'string' || v.length > 2048)
        throw bad('stringValue must be a string of at most 2048 characters');
      return { stringValue: v };
    case 'stringListValue':
      if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
        throw bad('stringListValue must be a list of strings');
      return { stringListValue: v as string[] };
    case 'longValue':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw bad('longValue must be an integer');
      return { longValue: v };
    case 'dateValue':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad('dateValue must be a timestamp');
      return { dateValue: new Date(v * 1000) };
    default:
      throw bad(`unknown member ${set[0]}`);
  }
}

/** Parses and validates a wire AttributeFilter. */
export function parseFilter(raw: unknown, path = 'attributeFilter', depth = 0): Filter {
  const bad = (why: string) => validationError(`${path}: ${why}`, [{ name: path, message: why }]);
  if (!isObject(raw)) throw bad('must be an AttributeFilter object');
  if (depth > MAX_DEPTH) throw bad(`filters may nest at most ${MAX_DEPTH} levels`);
  const set = Object.keys(raw).filter((k) => raw[k] !== undefined && raw[k] !== null);
  const unknown = set.filter((k) => !MEMBERS.includes(k));
  if (unknown.length) throw bad(`unknown member ${unknown[0]}`);
  if (set.length !== 1) throw bad('set exactly one operator per AttributeFilter');
  const key = set[0]!;
  const v = raw[key];
  if (key === 'andAllFilters' || key === 'orAllFilters') {
    if (!Array.isArray(v)) throw bad(`${key} must be a list`);
    return {
      op: key === 'andAllFilters' ? 'and' : 'or',
      filters: v.map((f, i) => parseFilter(f, `${path}.${key}[${i}]`, depth + 1)),
    };
  }
  if (key === 'notFilter') return { op: 'not', filter: parseFilter(v, `${path}.notFilter`, depth + 1) };
  const op = key as Comparison;
  if (!isObject(v)) throw bad(`${op} must be a DocumentAttribute`);
  const name = v.name;
  if (typeof name !== 'string' || name.length < 1 || name.length > 200 || !KEY_PATTERN.test(name)) {
    throw validationError(`${path}.${op}.name must match [a-zA-Z0-9_][a-zA-Z0-9_-]* (1-200 characters)`, [
      { name: `${path}.${op}.name`, message: 'invalid document attribute key' },
    ]);
  }
  const value = parseValue(v.value, `${path}.${op}.value`);
  const ordered = op.startsWith('greater') || op.startsWith('less');
  if (ordered && !('longValue' in value || 'dateValue' in value)) {
    throw bad(`${op} applies to longValue and dateValue only`);
  }
  if ((op === 'containsAll' || op === 'containsAny') && !('stringListValue' in value)) {
    throw bad(`${op} takes a stringListValue`);
  }
  return { op, name, value };
}

const scalar = (v: AttributeValue): string | number | undefined =>
  'stringValue' in v
    ? v.stringValue
    : 'longValue' in v
      ? v.longValue
      : 'dateValue' in v
        ? v.dateValue.getTime()
        : undefined;

const asList = (v: AttributeValue): string[] | undefined =>
  'stringListValue' in v ? v.stringListValue : 'stringValue' in v ? [v.stringValue] : undefined;

function compare(op: Comparison, doc: AttributeValue, want: AttributeValue): boolean {
  if (op === 'containsAll' || op === 'containsAny') {
    const have = asList(doc);
    const need = asList(want) ?? [];
    if (!have) return false;
    return op === 'containsAll' ? need.every((s) => have.includes(s)) : need.some((s) => have.includes(s));
  }
  if (op === 'equalsTo') {
    if ('stringListValue' in want || 'stringListValue' in doc) {
      const a = asList(doc);
      const b = asList(want);
      return !!a && !!b && a.length === b.length && b.every((s) => a.includes(s));
    }
  }
  // Values of different kinds never match (a long is not a date, a string is not a long).
  const sameKind = Object.keys(doc)[0] === Object.keys(want)[0];
  const a = scalar(doc);
  const b = scalar(want);
  if (!sameKind || a === undefined || b === undefined) return false;
  switch (op) {
    case 'equalsTo':
      return a === b;
    case 'greaterThan':
      return a > b;
    case 'greaterThanOrEquals':
      return a >= b;
    case 'lessThan':
      return a < b;
    case 'lessThanOrEquals':
      return a <= b;
  }
}

/** True when a document with these attributes passes the filter. A missing attribute fails a comparison. */
export function matches(filter: Filter, attributes: Record<string, AttributeValue>): boolean {
  switch (filter.op) {
    case 'and':
      return filter.filters.every((f) => matches(f, attributes));
    case 'or':
      return filter.filters.some((f) => matches(f, attributes));
    case 'not':
      return !matches(filter.filter, attributes);
    default: {
      const have = attributes[filter.name];
      return have !== undefined && compare(filter.op, have, filter.value);
    }
  }
}
