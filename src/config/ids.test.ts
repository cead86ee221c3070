/** @module The one Q id pattern: 36 characters, letters, digits and dashes, not starting with a dash. */
import { describe, expect, it } from 'vitest';
import { Q_ID_PATTERN, qIdString } from './ids.js';

const ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0123456789ab';

describe('Q_ID_PATTERN', () => {
  it('takes a 36-character id (a UUID, or letters and digits)', () => {
    expect(Q_ID_PATTERN.test(ID)).toBe(true);
    expect(Q_ID_PATTERN.test('A'.repeat(36))).toBe(true);
  });

  it('refuses a leading dash, other characters and other lengths', () => {
    for (const bad of [
      `-${ID.slice(1)}`,
      `${ID.slice(0, 35)}_`,
      ID.slice(1),
      `${ID}0`,
      ` ${ID.slice(1)}`,
      '',
    ])
      expect(Q_ID_PATTERN.test(bad), bad).toBe(false);
  });
});

describe('qIdString', () => {
  it('names what it expected', () => {
    const result = qIdString('Q Business retriever id').safeParse('nope');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('a 36-character Q Business retriever id');
    expect(qIdString('x').parse(ID)).toBe(ID);
  });
});
