/**
 * @module argumentsProblem() on its own: how filter levels are counted, where the walk stops, which
 * values count toward the size bound, and how a bad string's path is named.
 */
import { describe, expect, it } from 'vitest';
import { argumentsProblem } from '../../src/tools/input-bounds.js';

const leaf = { equalsTo: { name: 'a', value: { stringValue: 'x' } } };
const nots = (levels: number) => {
  let f: Record<string, unknown> = leaf;
  for (let i = 0; i < levels; i++) f = { notFilter: f };
  return f;
};

describe('argumentsProblem', () => {
  it('counts filter levels through notFilter and filter lists only, the top level being 0', () => {
    expect(argumentsProblem({ attributeFilter: nots(10) })).toBeUndefined();
    expect(argumentsProblem({ attributeFilter: nots(11) })).toMatch(/more than 10 levels/);
    expect(argumentsProblem({ attributeFilter: { andAllFilters: [nots(9)] } })).toBeUndefined();
    expect(argumentsProblem({ attributeFilter: { orAllFilters: [leaf, nots(10)] } })).toMatch(/10 levels/);
  });

  it('bounds the JSON depth of every argument, naming it', () => {
    const nest = (levels: number) => {
      let deep: unknown = 'x';
      for (let i = 0; i < levels; i++) deep = [deep];
      return deep;
    };
    expect(argumentsProblem({ query: nest(64) })).toBeUndefined();
    expect(argumentsProblem({ query: nest(65) })).toMatch(/^query nests more than 64 levels deep/);
    expect(argumentsProblem({ query: nest(1_000_000) })).toMatch(/^query nests more than 64/);
    const value = { stringListValue: nest(100) };
    expect(argumentsProblem({ attributeFilter: { equalsTo: { name: 'a', value } } })).toMatch(
      /^attributeFilter nests more than 64 levels deep/,
    );
  });

  it('stops at the limit without walking the rest of a hostile filter', () => {
    let chain: Record<string, unknown> = leaf;
    for (let i = 0; i < 200_000; i++) chain = { notFilter: chain };
    expect(argumentsProblem({ attributeFilter: chain })).toMatch(/attributeFilter nests more than 10/);
  });

  it('bounds the values in a filter, and in all arguments together', () => {
    const wide = { orAllFilters: Array.from({ length: 400 }, () => leaf) };
    expect(argumentsProblem({ attributeFilter: wide })).toMatch(/more than 2000 values/);
    expect(argumentsProblem({ attributeFilter: { orAllFilters: [leaf, leaf] } })).toBeUndefined();
    expect(argumentsProblem({ other: Array.from({ length: 10_000 }, () => 1) })).toBeUndefined();
    expect(argumentsProblem({ other: Array.from({ length: 30_000 }, () => 1) })).toMatch(
      /arguments are too large: more than 20000 values/,
    );
  });

  it('names the path of a string with a lone surrogate, and accepts surrogate pairs', () => {
    expect(argumentsProblem({ nextToken: 'ab\ud800' })).toMatch(
      /^nextToken .*lone UTF-16 surrogate at index 2/,
    );
    const filter = {
      andAllFilters: [leaf, { equalsTo: { name: 'b', value: { stringListValue: ['ok', '\udc00'] } } }],
    };
    expect(argumentsProblem({ attributeFilter: filter })).toMatch(
      /^attributeFilter\.andAllFilters\[1\]\.equalsTo\.value\.stringListValue\[1\] is not well-formed/,
    );
    expect(argumentsProblem({ query: 'smile \ud83d\ude00', documentId: 'é/ü' })).toBeUndefined();
  });
});
