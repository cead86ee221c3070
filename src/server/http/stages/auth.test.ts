/**
 * @module Unit tests of the auth stage's refusals that need no IdP: the challenge on a missing or
 * malformed token (the real verifier refuses a non-JWT before fetching keys), and local mode. Verified
 * tokens, tenants and an unreachable IdP are proven end to end in test/http.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../log.js';
import { createBearerVerifier } from '../bearer.js';
import { errorAnswer, RPC } from '../http-error.js';
import { createTenantResolver } from '../tenants.js';
import { createUserCache } from '../user-cache.js';
import type { UserContext } from '../user-context.js';
import type { ToolContext } from '../../../tools/context.js';
import type { QindexConfig } from '../../../config/schema.js';
import { bearerAuth, localAuth, reusedToken, unauthorized } from './auth.js';

const resource = 'https://mcp.example.com/mcp';
const METADATA = 'resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"';

function stage() {
  const users = createUserCache<UserContext>({
    max: 1,
    idleMs: 60_000,
    build: () => {
      throw new Error('no user is built for a refused token');
    },
  });
  const auth = bearerAuth({
    verify: createBearerVerifier({
      issuer: 'https://idp.example.com',
      audience: resource,
      algorithms: ['RS256'],
    }),
    resource,
    tenantOf: createTenantResolver({} as QindexConfig),
    users,
    logger: createLogger({ level: 'silent' }),
  });
  return { auth, users };
}

const refusal = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('auth stage', () => {
  it('asks for a token with the bare challenge when none is sent (any scheme but Bearer)', async () => {
    const { auth, users } = stage();
    for (const authorization of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b']) {
      const e = await refusal(auth({ headers: authorization ? { authorization } : {} }));
      expect(e, authorization).toMatchObject({
        status: 401,
        rpcCode: RPC.unauthorized,
        message: 'Authorization required: send a bearer token.',
        headers: { 'www-authenticate': `Bearer ${METADATA}` },
      });
    }
    users.clear();
  });

  it('answers a malformed token with invalid_token and its reason', async () => {
    const { auth, users } = stage();
    const e = await refusal(auth({ headers: { authorization: 'Bearer not-a-jwt' } }));
    expect(e).toMatchObject({ status: 401, message: 'The bearer token is not a JWT.' });
    expect((e as { headers: Record<string, string> }).headers['www-authenticate']).toBe(
      `Bearer error="invalid_token", error_description="The bearer token is not a JWT.", ${METADATA}`,
    );
    users.clear();
  });

  it('renders a reused token as 401 invalid_token asking for a fresh one, in a JSON-RPC body', () => {
    const answer = errorAnswer(reusedToken(resource));
    expect(answer.status).toBe(401);
    expect(answer.headers?.['www-authenticate']).toMatch(/^Bearer error="invalid_token", .*fresh token/);
    expect(answer.body).toMatchObject({
      error: { code: -32001, message: expect.stringMatching(/fresh token/) },
    });
    // Quotes and backslashes cannot break out of the challenge's quoted string.
    const quoted = unauthorized(resource, { code: 'invalid_token', description: 'say "hi" \\ bye' });
    expect(quoted.headers['www-authenticate']).toContain('error_description="say hi  bye"');
  });

  it('in local mode, every request is the signed-in user', async () => {
    const ctx = {} as ToolContext;
    expect(await localAuth(ctx)({ headers: {} })).toEqual({ key: 'local', ctx });
  });
});
