/** @module Unit tests of the one loopback check, for hostnames, IP literals and URL hostnames alike. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isLoopback } from './loopback.js';

describe('isLoopback', () => {
  it('accepts localhost, 127.0.0.0/8, ::1 in any spelling, bracketed and IPv4-mapped forms', () => {
    for (const host of [
      'localhost',
      'LocalHost',
      '127.0.0.1',
      '127.0.0.2',
      '127.255.255.254',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '0000:0000::0001',
      '::ffff:127.0.0.1',
      '::FFFF:127.1.2.3',
      '[::ffff:7f00:1]',
      '::ffff:7fff:ffff',
    ]) {
      expect(isLoopback(host), host).toBe(true);
    }
  });

  it('refuses every other name and address, including "all interfaces" and look-alikes', () => {
    for (const host of [
      '',
      '0.0.0.0',
      '::',
      '[::]',
      '10.0.0.1',
      '126.255.255.255',
      '128.0.0.1',
      '127.1',
      '127.0.0.1.nip.io',
      '127.example.com',
      'localhost.example.com',
      'foo.localhost',
      '::2',
      '1::1',
      'fe80::1',
      '::1%lo',
      '[::1',
      '::ffff:10.0.0.1',
      '::ffff:8000:1',
      '::ffff:0:127.0.0.1',
      '::127.0.0.1',
    ]) {
      expect(isLoopback(host), host).toBe(false);
    }
  });

  it('decides an IPv4 address, its IPv4-mapped form and the URL hostname of either alike', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(fc.tuple(octet, octet, octet, octet), (octets) => {
        const v4 = octets.join('.');
        const expected = octets[0] === 127;
        expect(isLoopback(v4)).toBe(expected);
        expect(isLoopback(`::ffff:${v4}`)).toBe(expected);
        // WHATWG URLs spell a mapped address in hex: [::ffff:7f00:1].
        expect(isLoopback(new URL(`http://[::ffff:${v4}]/`).hostname)).toBe(expected);
        expect(isLoopback(new URL(`http://${v4}:8080/`).hostname)).toBe(expected);
      }),
    );
  });

  it('takes URL hostnames as URLs give them', () => {
    expect(isLoopback(new URL('http://[0:0::1]:9000/x').hostname)).toBe(true);
    expect(isLoopback(new URL('http://LOCALHOST:9000/').hostname)).toBe(true);
    // The URL parser normalises 127.1 to 127.0.0.1, so as a URL it is loopback.
    expect(isLoopback(new URL('http://127.1/').hostname)).toBe(true);
    expect(isLoopback(new URL('http://127.0.0.1.example/').hostname)).toBe(false);
  });
});
