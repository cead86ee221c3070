/**
 * Bearer JWT verification against the sandbox IdP's real JWKS: tokens the IdP issues pass; expired,
 * wrong-audience, wrong-issuer, not-yet-valid, tampered, unsigned and HMAC-confused tokens are refused.
 */
import { describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { createBearerVerifier } from '../../src/server/http/bearer.js';
import { isQindexError } from '../../src/errors.js';
import { badTokens, signedToken, tampered } from './tokens.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();

const verifier = () =>
  createBearerVerifier({
    issuer: sandbox().description.issuer,
    audience: sandbox().description.mcpResource,
    algorithms: ['RS256', 'PS256', 'ES256'],
  });

describe('bearer verification', () => {
  it('accepts an access token the IdP issued for this resource', async () => {
    const token = await controlClient(sandbox().description.control).mintAccessToken({ username: 'alice' });
    const verified = await verifier()(token);
    expect(verified).toMatchObject({
      subject: subjectOf('alice'),
      issuer: sandbox().description.issuer,
      email: 'alice@example.com',
      token,
    });
    expect(verified.expiresAt).toBeGreaterThan(Date.now());
  });

  it('accepts a token carrying extra claims (the tenant)', async () => {
    const token = await signedToken(sandbox(), { username: 'bob', claims: { tenant: 'acme' } });
    expect((await verifier()(token)).claims.tenant).toBe('acme');
  });

  it('refuses every bad token with invalid_token, without echoing it', async () => {
    const verify = verifier();
    const bad = await badTokens(sandbox(), 'alice');
    for (const [name, token] of Object.entries(bad)) {
      const error = await verify(token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isQindexError(error) && error.code, name).toBe('invalid_token');
      expect((error as Error).message, name).not.toContain(token.slice(-20));
    }
  });

  it('remembers a verified token, never a refusal: bad tokens are refused again after a good one passed', async () => {
    const verify = verifier();
    const token = await controlClient(sandbox().description.control).mintAccessToken({ username: 'alice' });
    const first = await verify(token);
    expect(await verify(token)).toBe(first);
    // The same token with another subject, its signature kept: not the remembered one.
    await expect(verify(tampered(token, { sub: 'bob' }))).rejects.toMatchObject({ code: 'invalid_token' });
    const bad = await badTokens(sandbox(), 'alice');
    for (const round of [1, 2]) {
      for (const [name, t] of Object.entries(bad)) {
        await expect(verify(t), `${name}, round ${round}`).rejects.toMatchObject({ code: 'invalid_token' });
      }
    }
  });

  it('refuses a token for another resource even when the IdP issued it', async () => {
    const token = await controlClient(sandbox().description.control).mintAccessToken({
      username: 'alice',
      resource: 'https://other.example/mcp',
    });
    await expect(verifier()(token)).rejects.toMatchObject({ code: 'invalid_token', message: /audience/ });
  });

  it('takes signing keys over https only (plain HTTP only from a loopback test IdP)', async () => {
    const options = { audience: sandbox().description.mcpResource, algorithms: ['RS256'] };
    expect(() => createBearerVerifier({ ...options, issuer: 'http://idp.example.com' })).toThrow(
      expect.objectContaining({ code: 'insecure_issuer' }),
    );
    expect(() =>
      createBearerVerifier({
        ...options,
        issuer: 'https://idp.example.com',
        jwksUri: 'http://idp.example.com/jwks',
      }),
    ).toThrow(expect.objectContaining({ code: 'insecure_issuer' }));

    // A loopback issuer whose discovery document points at keys on plain HTTP elsewhere.
    const idp = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jwks_uri: 'http://keys.example.com/jwks' }));
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    try {
      const issuer = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
      const token = await controlClient(sandbox().description.control).mintAccessToken({ username: 'alice' });
      await expect(createBearerVerifier({ ...options, issuer })(token)).rejects.toMatchObject({
        code: 'insecure_issuer',
      });
    } finally {
      idp.close();
    }
  });
});
