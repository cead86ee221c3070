/**
 * Every relative link in the repository's Markdown (README, docs/, bench/, the sandbox's README)
 * points at a file that exists: a newcomer following one never lands on nothing.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;
const markdown = [
  'README.md',
  ...['docs', 'bench', 'tools/sandbox'].flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(dir, f)),
  ),
];

describe('Markdown links', () => {
  it.each(markdown)('%s links only to files that exist', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const targets = [...text.matchAll(/\]\(([^)\s]+)\)/g)]
      .map((m) => m[1]!.split('#')[0]!)
      .filter((t) => t && !/^[a-z]+:/i.test(t));
    const missing = targets.filter((t) => !existsSync(join(ROOT, dirname(file), t)));
    expect(missing).toEqual([]);
  });
});
