import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { publicJwk } from './keys.js';
import { createAccessTokenVerifier, grantIdOf } from './verify.js';

const issuer = 'https://mcp.example.com';
const resource = 'https://mcp.example.com/mcp';
let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let jwk: JWK;
let otherKey: typeof privateKey;
const revoked = new Set<string>();

beforeAll(async () => {
  ({ privateKey } = await generateKeyPair('ES256', { extractable: true }));
  jwk = { ...publicJwk(await exportJWK(privateKey)), kid: 'k1', alg: 'ES256' };
  ({ privateKey: otherKey } = await generateKeyPair('ES256'));
});

const verifier = () =>
  createAccessTokenVerifier({
    issuer,
    resource,
    upstreamIssuer: 'https://idp.example.com',
    publicJwks: { keys: [jwk] },
    alive: async (gid) => !revoked.has(gid),
  });

const sign = (claims: Record<string, unknown> = {}, key = privateKey, alg = 'ES256') =>
  new SignJWT({ client_id: 'c1', gid: 'g1', email: 'a@example.com', tenant: 'acme', ...claims })
    .setProtectedHeader({ alg, kid: 'k1' })
    .setIssuer((claims.iss as string) ?? issuer)
    .setAudience((claims.aud as string) ?? resource)
    .setSubject('user-1')
    .setIssuedAt()
    .setExpirationTime((claims.exp as number) ?? '5m')
    .sign(key);

describe('our access token verifier', () => {
  it('yields the upstream user: issuer = the IdP, subject, email, the claims for the tenant', async () => {
    const token = await sign();
    const v = await verifier()(token);
    expect(v).toMatchObject({ issuer: 'https://idp.example.com', subject: 'user-1', email: 'a@example.com' });
    expect(v.claims.tenant).toBe('acme');
    expect(grantIdOf(token)).toBe('g1');
  });

  it.each([
    ['another audience', { aud: 'https://other.example/mcp' }, /audience/],
    ['another issuer', { iss: 'https://idp.example.com' }, /another authorization server/],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 120 }, /expired/],
  ])('refuses %s', async (_what, claims, message) => {
    await expect(verifier()(await sign(claims))).rejects.toThrow(message);
  });

  it('refuses a token signed by another key, a revoked grant, and what is not a JWT', async () => {
    await expect(verifier()(await sign({}, otherKey))).rejects.toThrow(/does not verify/);
    revoked.add('g2');
    await expect(verifier()(await sign({ gid: 'g2' }))).rejects.toThrow(/ended or was revoked/);
    await expect(verifier()('not-a-jwt')).rejects.toThrow(/not a JWT/);
  });
});
