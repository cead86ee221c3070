/**
 * ID token validation against the sandbox IdP's real JWKS, with forged tokens: alg none, HS256 keyed with
 * the IdP's public key, a foreign key under the IdP's kid, and wrong issuer, audience, expiry and nonce.
 */
import { exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { validateIdToken } from '../../src/auth/id-token.js';
import { createOidc } from '../../src/auth/oidc.js';
import { QindexError } from '../../src/errors.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { mintIdToken } from '../../tools/sandbox/idp/mint.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';
import { useSandbox } from '../helpers/sandbox.js';
import { signInConfig } from './helpers.js';

const sandbox = useSandbox();

async function setup() {
  const sb = sandbox();
  const d = sb.description;
  const oidc = createOidc(signInConfig(d).idp);
  const checks = {
    issuer: d.issuer,
    clientId: d.clients.native,
    keys: await oidc.keys(),
    algorithms: await oidc.algorithms(),
  };
  const alice = sb.world.users.find((u) => u.username === 'alice')!;
  const mint = (opts: Parameters<typeof mintIdToken>[3], issuer = d.issuer) =>
    mintIdToken(issuer, sb.keys, alice, opts);
  /** Signed with the IdP's own key, any audience shape. */
  const sign = (aud: string | string[], extra: Record<string, unknown> = {}) =>
    new SignJWT({ sub: 'alice', ...extra })
      .setProtectedHeader({ alg: 'RS256', kid: sb.keys.kid })
      .setIssuer(d.issuer)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(sb.keys.signingKey);
  return { d, sb, checks, mint, sign };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const rejected = async (p: Promise<unknown>, why: RegExp, token?: string) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  expect((e as QindexError).code).toBe('id_token_invalid');
  expect((e as QindexError).message).toMatch(why);
  // The rejected token itself (a canary here) never shows up in what the user or a log sees.
  if (token)
    expect(`${(e as QindexError).message}${(e as QindexError).remedy}`).not.toContain(token.split('.')[1]);
};

describe('validateIdToken', () => {
  it('accepts a token the IdP signed, with the expected nonce', async () => {
    const { d, checks } = await setup();
    const token = await controlClient(d.control).mintIdToken({ username: 'alice', nonce: 'n-123' });
    const claims = await validateIdToken(token, { ...checks, nonce: 'n-123' });
    expect(claims).toMatchObject({
      sub: subjectOf('alice'),
      email: 'alice@example.com',
      aud: d.clients.native,
      iss: d.issuer,
    });
  });

  it('rejects alg "none"', async () => {
    const { d, checks } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ iss: d.issuer, aud: d.clients.native, sub: 'alice', iat: now, exp: now + 600 })}.`;
    await rejected(validateIdToken(unsigned, checks), /algorithm is not allowed|not a well-formed/, unsigned);
  });

  it('rejects HS256 signed with the IdP public key (algorithm confusion)', async () => {
    const { d, sb, checks } = await setup();
    const jwk = { ...sb.keys.privateJwks.keys[0]! };
    const publicOnly: JWK = { kty: jwk.kty, n: jwk.n, e: jwk.e };
    const pem = await exportSPKI(
      (await importJWK({ ...publicOnly, alg: 'RS256' }, 'RS256')) as Parameters<typeof exportSPKI>[0],
    );
    for (const secret of [pem, JSON.stringify(publicOnly)]) {
      const forged = await new SignJWT({ sub: 'alice', email: 'alice@example.com' })
        .setProtectedHeader({ alg: 'HS256', kid: sb.keys.kid })
        .setIssuer(d.issuer)
        .setAudience(d.clients.native)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(secret));
      await rejected(validateIdToken(forged, checks), /algorithm is not allowed/, forged);
      // Even if a caller listed HS256, it is filtered out: symmetric algorithms are never accepted.
      await rejected(
        validateIdToken(forged, { ...checks, algorithms: ['HS256', 'RS256'] }),
        /algorithm is not allowed/,
      );
    }
  });

  it("rejects a token signed by another key under the IdP's kid", async () => {
    const { d, sb, checks } = await setup();
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'RS256', kid: sb.keys.kid })
      .setIssuer(d.issuer)
      .setAudience(d.clients.native)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
    await rejected(validateIdToken(forged, checks), /signature does not match/, forged);
  });

  it('rejects the wrong issuer, audience, an expired token, a wrong or missing nonce, and several audiences without azp', async () => {
    const { d, checks, mint, sign } = await setup();
    await rejected(
      validateIdToken(await mint({ audience: d.clients.native }, 'https://evil.example'), checks),
      /"iss"/,
    );
    await rejected(validateIdToken(await mint({ audience: d.clients.isv }), checks), /"aud"/);
    await rejected(
      validateIdToken(await mint({ audience: d.clients.native, ttlSeconds: -600 }), checks),
      /expired/,
    );
    await rejected(
      validateIdToken(await mint({ audience: d.clients.native, nonce: 'other' }), {
        ...checks,
        nonce: 'mine',
      }),
      /nonce/,
    );
    await rejected(
      validateIdToken(await mint({ audience: d.clients.native }), { ...checks, nonce: 'mine' }),
      /nonce/,
    );
    const multi = await sign([d.clients.native, d.clients.isv]);
    await rejected(validateIdToken(multi, checks), /azp/, multi);
    const withAzp = await sign([d.clients.native, d.clients.isv], { azp: d.clients.native });
    expect((await validateIdToken(withAzp, checks)).sub).toBe('alice');
  });
});
