/**
 * @module Checks on a tool call's raw arguments that must run before any schema parse: an attribute
 * filter nests no deeper than Amazon Q allows and stays small, no argument is absurdly deep or large,
 * and every string is well-formed UTF-16. The walk is iterative, counts before it allocates and stops
 * at the first problem, so no input can exhaust the stack or the heap. (zod's recursive parse of a
 * too-deep filter overflows the stack and keeps parse state behind each time: a leak per call, so a
 * filter it cannot finish must never reach it.)
 */

/** Q allows 10 levels of andAllFilters / orAllFilters / notFilter below the top-level filter. */
export const MAX_FILTER_NESTING = 10;
/** Ours, not Q's: bounds the work one filter costs (a condition is ~5 values; a list adds one per entry). */
export const MAX_FILTER_VALUES = 2_000;
/** Ours: no tool argument needs more (a 10-level filter is about 25 JSON levels deep). */
export const MAX_JSON_DEPTH = 64;
/** Ours: every value in all arguments together (a filter at its bound is 2,000 of them). */
export const MAX_VALUES = 20_000;

const FILTER_KEY = 'attributeFilter';

/** What a value is, for the filter rules: a filter object, a list of filters, or anything else. */
type Kind = 'filter' | 'filters' | 'other';

interface Entry {
  value: unknown;
  /** Where the value sits; the path is built only when a problem is reported. */
  parent: Entry | undefined;
  key: string | number;
  kind: Kind;
  /** Filter levels above this value (the top-level filter is level 0). */
  nesting: number;
  /** JSON levels above this value (a top-level argument is level 0). */
  depth: number;
  inFilter: boolean;
}

/** The first problem with `args` (a message naming the field and the limit), or undefined. */
export function argumentsProblem(args: Record<string, unknown>): string | undefined {
  const stack: Entry[] = [];
  let values = 0;
  let filterValues = 0;
  const push = (entry: Entry): string | undefined => {
    if (++values > MAX_VALUES) return `the arguments are too large: more than ${MAX_VALUES} values in all.`;
    if (entry.inFilter && ++filterValues > MAX_FILTER_VALUES) {
      return `${FILTER_KEY} is too large: more than ${MAX_FILTER_VALUES} values. Use fewer conditions (or shorter value lists).`;
    }
    stack.push(entry);
    return undefined;
  };
  for (const key of Object.keys(args)) {
    const inFilter = key === FILTER_KEY;
    const kind = inFilter ? 'filter' : 'other';
    const problem = push({ value: args[key], parent: undefined, key, kind, nesting: 0, depth: 0, inFilter });
    if (problem) return problem;
  }
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const { value } = entry;
    if (typeof value === 'string') {
      const at = value.search(/\p{Cs}/u);
      if (at >= 0) {
        return `${pathOf(entry)} is not well-formed text: it has a lone UTF-16 surrogate at index ${at}. Pass the value exactly as an earlier result gave it.`;
      }
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (entry.kind === 'filter' && entry.nesting > MAX_FILTER_NESTING) {
      return `${FILTER_KEY} nests more than ${MAX_FILTER_NESTING} levels of andAllFilters / orAllFilters / notFilter; Amazon Q allows at most ${MAX_FILTER_NESTING}. Flatten the filter.`;
    }
    if (entry.depth >= MAX_JSON_DEPTH) {
      return `${rootOf(entry).key} nests more than ${MAX_JSON_DEPTH} levels deep, more than any argument of this tool can.`;
    }
    const problem = forEachChild(value, (key, child) =>
      push({ value: child, parent: entry, key, depth: entry.depth + 1, ...childKind(entry, key) }),
    );
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Whether `value` nests deeper than `max` levels (a scalar is level 0), walked without recursion and
 * stopping at the first too-deep value: for whole request bodies, which some code paths serialize or
 * validate recursively before any tool sees them.
 */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    forEachChild(v, (_key, child) => {
      stack.push({ value: child, depth: depth + 1 });
      return undefined;
    });
  }
  return false;
}

/** Visits an array's items or an object's own properties until `visit` returns a problem. */
function forEachChild(
  value: object,
  visit: (key: string | number, child: unknown) => string | undefined,
): string | undefined {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = visit(i, value[i]);
      if (problem) return problem;
    }
    return undefined;
  }
  // for…in rather than Object.keys: no copy of a huge key list before the count stops it.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const problem = visit(key, (value as Record<string, unknown>)[key]);
    if (problem) return problem;
  }
  return undefined;
}

/** Filter levels grow through a list of filters and through notFilter; everything else is data. */
function childKind(entry: Entry, key: string | number): Pick<Entry, 'kind' | 'nesting' | 'inFilter'> {
  const { nesting, inFilter } = entry;
  if (entry.kind === 'filter' && (key === 'andAllFilters' || key === 'orAllFilters')) {
    return { kind: 'filters', nesting, inFilter };
  }
  if (entry.kind === 'filter' && key === 'notFilter')
    return { kind: 'filter', nesting: nesting + 1, inFilter };
  if (entry.kind === 'filters') return { kind: 'filter', nesting: nesting + 1, inFilter };
  return { kind: 'other', nesting, inFilter };
}

function rootOf(entry: Entry): Entry {
  let e = entry;
  while (e.parent) e = e.parent;
  return e;
}

/** `attributeFilter.andAllFilters[0].equalsTo.name`, from the entry's ancestors. */
function pathOf(entry: Entry): string {
  const parts: string[] = [];
  for (let e: Entry | undefined = entry; e; e = e.parent) {
    parts.push(typeof e.key === 'number' ? `[${e.key}]` : e.parent ? `.${e.key}` : e.key);
  }
  return parts.reverse().join('');
}
