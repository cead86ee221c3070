import { describe, expect, it } from 'vitest';
import { cimdFetchAllowed, isSpecialUseAddress } from './cimd.js';

describe('isSpecialUseAddress', () => {
  it.each([
    '127.0.0.1',
    '10.1.2.3',
    '172.20.0.1',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fc00::1',
    'fd12::1',
    'fe80::1',
    '::ffff:127.0.0.1',
    '::ffff:10.0.0.1',
    'not-an-ip',
  ])('%s is special-use', (a) => expect(isSpecialUseAddress(a)).toBe(true));

  it.each(['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (a) =>
    expect(isSpecialUseAddress(a)).toBe(false),
  );
});

describe('cimdFetchAllowed', () => {
  it('refuses IP literals in special-use ranges and localhost names unless private networks are allowed', () => {
    for (const id of [
      'https://127.0.0.1/c.json',
      'https://[::1]:8443/c.json',
      'https://localhost/c.json',
      'https://a.localhost/c.json',
      'https://169.254.169.254/latest/meta-data',
    ]) {
      expect(cimdFetchAllowed(id, false), id).toBe(false);
      expect(cimdFetchAllowed(id, true), id).toBe(true);
    }
  });

  it('lets public names and addresses through (their resolution is checked on connect)', () => {
    expect(cimdFetchAllowed('https://claude.ai/oauth/claude-code-client-metadata', false)).toBe(true);
    expect(cimdFetchAllowed('https://8.8.8.8/c.json', false)).toBe(true);
  });
});
