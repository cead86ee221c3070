/**
 * @module Unit tests of the verifier's https rule, which uses the one loopback check: plain HTTP issuers
 * and JWKS URIs are taken from loopback test IdPs only (every loopback spelling, as sign-in takes them).
 * Verification itself runs against the sandbox IdP in test/http/bearer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { createBearerVerifier } from './bearer.js';

const options = { audience: 'https://mcp.example.com/mcp', algorithms: ['RS256'] };

describe('bearer verifier, plain HTTP', () => {
  it('is taken from any loopback test IdP, for the issuer and the JWKS URI', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '[::1]', '[0:0::1]', '[::ffff:127.0.0.1]']) {
      expect(() => createBearerVerifier({ ...options, issuer: `http://${host}:9000` }), host).not.toThrow();
      expect(() =>
        createBearerVerifier({
          ...options,
          issuer: 'https://idp.example',
          jwksUri: `http://${host}:9000/jwks`,
        }),
      ).not.toThrow();
    }
  });

  it('is refused from anywhere else, as is any scheme but https', () => {
    for (const issuer of [
      'http://idp.example.com',
      'http://127.0.0.1.nip.io',
      'http://0.0.0.0:9000',
      'http://[::ffff:10.0.0.1]:9000',
      'ftp://127.0.0.1/',
    ]) {
      expect(() => createBearerVerifier({ ...options, issuer }), issuer).toThrow(
        expect.objectContaining({ code: 'insecure_issuer' }),
      );
    }
  });
});
