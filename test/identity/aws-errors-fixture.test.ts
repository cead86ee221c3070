/**
 * @module The recorded AWS error shapes (fixtures/aws-errors.json) are what the SDK clients get from
 * today's sandbox: re-recorded here, they must match the committed file, so the unit tests of the error
 * table never run on shapes the sandbox no longer produces. `npx tsx tools/record-aws-errors.ts` rewrites it.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { FIXTURE_PATH, fixtureText, recordAwsErrors } from '../../tools/record-aws-errors.js';
import { useSandbox } from '../helpers/sandbox.js';

const sandbox = useSandbox();

describe('recorded AWS error shapes', () => {
  it('match what the sandbox produces now', async () => {
    const recorded = await recordAwsErrors(sandbox());
    expect(recorded.length).toBeGreaterThan(30);
    expect(await fixtureText(recorded)).toBe(await readFile(FIXTURE_PATH, 'utf8'));
  });
});
