/**
 * @module Unit test of sign-in's plain-HTTP rule, which uses the one loopback check (config/loopback.ts):
 * the same hosts the bearer verifier takes. Discovery itself is tested against the sandbox IdP.
 */
import { describe, expect, it } from 'vitest';
import { IdpSchema } from '../config/schema.js';
import { createOidc } from './oidc.js';

const idp = (issuer: string) => IdpSchema.parse({ issuer, clientId: 'qindex-mcp' });

describe('createOidc, plain HTTP', () => {
  it('is taken from a loopback issuer in any spelling, refused elsewhere', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '[::1]', '[::ffff:127.0.0.1]']) {
      expect(() => createOidc(idp(`http://${host}:9000`)), host).not.toThrow();
    }
    for (const host of ['idp.example.com', '127.0.0.1.nip.io', '0.0.0.0', '[::ffff:10.0.0.1]']) {
      expect(() => createOidc(idp(`http://${host}:9000`)), host).toThrow(
        expect.objectContaining({ code: 'insecure_issuer' }),
      );
    }
  });
});
