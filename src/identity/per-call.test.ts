/**
 * @module The per-call-signed sso-oidc client every data-accessor user shares: each request is signed
 * with the credentials of the `signedWith` it runs in, even with calls of other users interleaved, and
 * a request outside one is refused rather than signed with anyone's keys. Nothing leaves the process: a
 * middleware after signing reads the request's access key id and answers for the service.
 */
import { describe, expect, it } from 'vitest';
import { CreateTokenWithIAMCommand } from '@aws-sdk/client-sso-oidc';
import { ConfigSchema } from '../config/schema.js';
import { perCallSsoOidcClient, signedWith } from './chain.js';

const config = ConfigSchema.parse({
  profile: 'work',
  idp: { issuer: 'https://idp.example.com', clientId: 'qindex-mcp' },
  mode: { type: 'iam-federation', roleArn: 'arn:aws:iam::111111111111:role/QIndexMcpWebIdentityRole' },
  q: {
    region: 'us-east-1',
    applicationId: 'a1b2c3d4-5678-90ab-cdef-111111111111',
    retrieverId: 'ret00000-0000-4000-8000-000000000001',
  },
});

/** The client, answering every request itself with the access key id that signed it. */
function signerEcho() {
  const client = perCallSsoOidcClient(config, 'us-east-1');
  client.middlewareStack.add(
    (_next) => async (args) => {
      const auth = String((args.request as { headers: Record<string, string> }).headers.authorization);
      const keyId = /Credential=([^/]+)\//.exec(auth)?.[1];
      await new Promise((r) => setTimeout(r, Math.random() * 5));
      return { response: {}, output: { accessToken: keyId, $metadata: {} } as never };
    },
    { step: 'finalizeRequest', priority: 'low', name: 'signerEcho' },
  );
  return client;
}

const send = (client: ReturnType<typeof signerEcho>) =>
  client.send(new CreateTokenWithIAMCommand({ clientId: 'app', grantType: 'refresh_token' }));

describe('perCallSsoOidcClient', () => {
  const client = signerEcho();

  it('is one client per configuration and region', () => {
    expect(perCallSsoOidcClient(config, 'us-east-1')).toBe(client);
    expect(perCallSsoOidcClient(config, 'eu-west-1')).not.toBe(client);
  });

  it("signs each call with its own caller's credentials, calls of 20 users interleaved", async () => {
    const users = Array.from({ length: 20 }, (_, i) => `AKIAUSER${i}`);
    const seen = await Promise.all(
      users.flatMap((keyId) =>
        [0, 1, 2].map(() =>
          signedWith({ accessKeyId: keyId, secretAccessKey: `secret-${keyId}` }, async () => {
            await new Promise((r) => setTimeout(r, Math.random() * 5));
            return { keyId, signedBy: (await send(client)).accessToken };
          }),
        ),
      ),
    );
    for (const { keyId, signedBy } of seen) expect(signedBy).toBe(keyId);
  });

  it('refuses a call outside signedWith', async () => {
    await expect(send(client)).rejects.toThrow(/per-call credentials/);
  });
});
