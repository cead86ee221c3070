/**
 * @module Unit tests of the one discovery check (no network: checkDiscovery is pure): the issuer must be
 * the one asked for, every IdP URL https or loopback, and a failing answer says whose fix it is. The
 * fetch itself runs against the sandbox IdP (test/auth/refresh.test.ts, test/http/bearer.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { checkDiscovery, discoveryUrl, requireSecureUrl } from './discovery.js';

const ISSUER = 'https://idp.example.com/realms/a';
const doc = (extra: Record<string, unknown> = {}) => ({
  issuer: ISSUER,
  token_endpoint: `${ISSUER}/token`,
  jwks_uri: `${ISSUER}/jwks`,
  ...extra,
});
const check =
  (body: unknown, status = 200) =>
  () =>
    checkDiscovery(ISSUER, { status, body });

describe('checkDiscovery', () => {
  it("returns the metadata of the issuer's own document", () => {
    expect(check(doc())()).toMatchObject({ issuer: ISSUER, jwks_uri: `${ISSUER}/jwks` });
    // An origin-only issuer with and without its slash is one issuer (as openid-client compares them).
    expect(
      checkDiscovery('http://127.0.0.1:9000', { status: 200, body: { issuer: 'http://127.0.0.1:9000/' } }),
    ).toBeDefined();
  });

  it('refuses a document for another issuer, or for none', () => {
    expect(check(doc({ issuer: 'https://evil.example.com' }))).toThrow(
      expect.objectContaining({
        code: 'idp_discovery_failed',
        message: expect.stringContaining('names issuer https://evil.example.com'),
      }),
    );
    expect(check(doc({ issuer: `${ISSUER}/` }))).toThrow(
      expect.objectContaining({ code: 'idp_discovery_failed' }),
    );
    expect(check(doc({ issuer: undefined }))).toThrow(/names no issuer/);
    expect(check([doc()])).toThrow(/is not a JSON object/);
    expect(check(undefined)).toThrow(/is not a JSON object/);
  });

  it('refuses plain-HTTP keys and endpoints away from loopback, before anything else', () => {
    for (const field of [
      'jwks_uri',
      'token_endpoint',
      'authorization_endpoint',
      'device_authorization_endpoint',
    ]) {
      expect(check({ [field]: 'http://idp.example.com/x' }), field).toThrow(
        expect.objectContaining({ code: 'insecure_issuer', message: expect.stringContaining(field) }),
      );
    }
    expect(check(doc({ jwks_uri: 42 }))).toThrow(/jwks_uri that is not a URL/);
    const local = 'http://127.0.0.1:9000';
    expect(
      checkDiscovery(local, { status: 200, body: { issuer: local, jwks_uri: `${local}/jwks` } }),
    ).toBeDefined();
  });

  it("says whether an HTTP error is the IdP's moment (retryable) or the configuration", () => {
    expect(check({}, 503)).toThrow(expect.objectContaining({ code: 'idp_unavailable', retryable: true }));
    expect(check({}, 429)).toThrow(expect.objectContaining({ code: 'idp_unavailable', retryable: true }));
    expect(check({}, 404)).toThrow(
      expect.objectContaining({
        code: 'idp_discovery_failed',
        retryable: false,
        message: `The identity provider at ${ISSUER}/.well-known/openid-configuration answered HTTP 404.`,
        remedy: `Check idp.issuer: ${ISSUER} has no OpenID discovery document.`,
      }),
    );
  });
});

describe('requireSecureUrl and discoveryUrl', () => {
  it('takes https anywhere and http on loopback only', () => {
    for (const url of ['https://idp.example.com', 'http://localhost:1', 'http://127.0.0.2', 'http://[::1]:8'])
      expect(() => requireSecureUrl(url, 'issuer'), url).not.toThrow();
    for (const url of [
      'http://idp.example.com',
      'http://0.0.0.0',
      'ftp://127.0.0.1/',
      'http://127.0.0.1.nip.io',
    ])
      expect(() => requireSecureUrl(url, 'issuer'), url).toThrow(
        expect.objectContaining({ code: 'insecure_issuer' }),
      );
  });

  it('puts the well-known segment after the issuer path, one slash', () => {
    expect(discoveryUrl(`${ISSUER}/`)).toBe(`${ISSUER}/.well-known/openid-configuration`);
    expect(discoveryUrl(ISSUER)).toBe(`${ISSUER}/.well-known/openid-configuration`);
  });
});
