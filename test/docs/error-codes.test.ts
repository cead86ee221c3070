/**
 * README's troubleshooting table lists exactly the error codes that exist (src/errors.ts ErrorCode), one
 * row each, with the same "whose fix" as the code's default: a code added, merged or renamed without
 * its row fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, aboutCode, type ErrorCode as Code } from '../../src/errors.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The rows of the table under "## Troubleshooting": code → whose fix. */
function rows(): Array<[string, string]> {
  const section = README.slice(README.indexOf('## Troubleshooting'));
  const body = section.slice(0, section.indexOf('\n## ', 1));
  return [...body.matchAll(/^\| `([a-z_]+)` +\| (\w+) +\|/gm)].map((m) => [m[1]!, m[2]!]);
}

describe("README's error-code table", () => {
  it('has one row for every code and no row for a code that does not exist', () => {
    const listed = rows().map(([code]) => code);
    expect(listed.length).toBeGreaterThan(0);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('gives each code the same whose-fix as src/errors.ts', () => {
    for (const [code, fixBy] of rows()) expect(fixBy, code).toBe(aboutCode(code as Code).fixBy);
  });
});
