/**
 * @module The emulated sso-oidc CreateTokenWithIAM through the unmodified SDK client: each
 * InvalidGrant cause, single-use assertions (switch on and off), data-accessor tenant checks,
 * the refresh_token grant, bad input and faults, all in sso-oidc's OAuth-style error shape.
 */
import { describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import {
  CreateTokenWithIAMCommand,
  SSOOIDCClient,
  type CreateTokenWithIAMCommandInput,
} from '@aws-sdk/client-sso-oidc';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { decodeJwt } from 'jose';
import type { AwsCredentialIdentity } from '@smithy/types';
import { useSandbox } from '../helpers/sandbox.js';
import { mintIdToken } from '../../tools/sandbox/idp/mint.js';
import { DATA_ACCESSOR_EXTERNAL_ID_TAG, findUser } from '../../tools/sandbox/world.js';
import { idcUserId } from '../../tools/sandbox/aws/identity-context.js';

const sandbox = useSandbox();
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const endpoint = () => sandbox().description.awsEndpoint;
const idc = () => sandbox().description.modes.idc;
const da = () => sandbox().description.modes.dataAccessor;
const oidc = (credentials: AwsCredentialIdentity) =>
  new SSOOIDCClient({ endpoint: endpoint(), region: 'us-west-2', credentials, maxAttempts: 1 });
const exchange = (input: Partial<CreateTokenWithIAMCommandInput>, credentials = idc().baseCredentials) =>
  oidc(credentials).send(
    new CreateTokenWithIAMCommand({ clientId: idc().idcApplicationArn, grantType: JWT_BEARER, ...input }),
  );

async function idToken(username: string, opts: { audience?: string; ttlSeconds?: number } = {}) {
  const sb = sandbox();
  return mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, username)!, {
    audience: opts.audience ?? idc().clientId,
    ttlSeconds: opts.ttlSeconds,
  });
}

async function isvSession(roleName: string, tenant?: string): Promise<AwsCredentialIdentity> {
  const sb = sandbox();
  const res = await new STSClient({
    endpoint: endpoint(),
    region: 'us-east-1',
    credentials: da().baseCredentials,
  }).send(
    new AssumeRoleCommand({
      RoleArn: sb.world.roles.find((r) => r.name === roleName)!.arn,
      RoleSessionName: 'isv',
      ...(tenant ? { Tags: [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: tenant }] } : {}),
    }),
  );
  const c = res.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

const grantError = (description: string) => ({
  name: 'InvalidGrantException',
  error: 'invalid_grant',
  error_description: expect.stringContaining(description),
  $metadata: { httpStatusCode: 400 },
});

describe('CreateTokenWithIAM jwt-bearer', () => {
  it('returns tokens and an identity context for a directory user', async () => {
    const res = await exchange({ assertion: await idToken('alice') });
    const claims = decodeJwt(res.idToken!);
    expect(claims['sts:identity_context']).toBe(res.awsAdditionalDetails?.identityContext);
    expect(claims.aud).toBe(idc().idcApplicationArn);
    expect(res).toMatchObject({ tokenType: 'Bearer', expiresIn: 3600, accessToken: expect.any(String) });
    // The claims of the SDK's documented example: the user is its IdC user id, the token carries no email.
    expect(claims.sub).toBe(idcUserId(findUser(sandbox().world, 'alice')!));
    expect(Object.keys(claims).sort()).toEqual(
      [
        'aud',
        'auth_time',
        'aws:credential_id',
        'aws:identity_store_arn',
        'aws:identity_store_id',
        'aws:instance_account',
        'aws:instance_arn',
        'exp',
        'iat',
        'iss',
        'sts:audit_context',
        'sts:identity_context',
        'sub',
      ].sort(),
    );
  });

  it('says which cause: untrusted issuer, audience not authorized, unknown user, expired', async () => {
    const notrust = sandbox().world.idcApplications.find((a) => a.arn.endsWith('apl-notrust00001'))!.arn;
    await expect(exchange({ clientId: notrust, assertion: await idToken('alice') })).rejects.toMatchObject(
      grantError('untrusted issuer'),
    );
    await expect(
      exchange({ assertion: await idToken('alice', { audience: 'unrelated-app' }) }),
    ).rejects.toMatchObject(grantError('audience not authorized'));
    await expect(exchange({ assertion: await idToken('mallory') })).rejects.toMatchObject(
      grantError('unknown user'),
    );
    await expect(exchange({ assertion: await idToken('alice', { ttlSeconds: -60 }) })).rejects.toMatchObject(
      grantError('expired'),
    );
  });

  it('refuses a reused assertion when the switch is on, accepts it when off, and counts both', async () => {
    const state = sandbox().state;
    const assertion = await idToken('bob');
    const before = state.reusedAssertionCount;
    await exchange({ assertion });
    await expect(exchange({ assertion })).rejects.toMatchObject(grantError('identity token is reused'));
    expect(state.reusedAssertionCount).toBe(before + 1);
    state.switches.singleUseAssertions = false;
    try {
      const again = await exchange({ assertion });
      expect(again.awsAdditionalDetails?.identityContext).toBeTruthy();
    } finally {
      state.switches.singleUseAssertions = true;
    }
    expect(state.reusedAssertionCount).toBe(before + 2);
  });

  it('refuses an unknown client and a grant the application does not allow', async () => {
    await expect(
      exchange({
        clientId: 'arn:aws:sso::111111111111:application/ssoins-x/apl-nope',
        assertion: await idToken('alice'),
      }),
    ).rejects.toMatchObject({ name: 'InvalidClientException', $metadata: { httpStatusCode: 401 } });
    // The instance lives in idcRegion: sso-oidc in another region (e.g. the Q region) does not know the app.
    const elsewhere = new SSOOIDCClient({
      endpoint: endpoint(),
      region: sandbox().description.qRegion,
      credentials: idc().baseCredentials,
      maxAttempts: 1,
    });
    expect(sandbox().description.qRegion).not.toBe(sandbox().description.idcRegion);
    await expect(
      elsewhere.send(
        new CreateTokenWithIAMCommand({
          clientId: idc().idcApplicationArn,
          grantType: JWT_BEARER,
          assertion: await idToken('alice'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidClientException', $metadata: { httpStatusCode: 401 } });
    await expect(
      exchange({ grantType: 'authorization_code', code: 'abc', redirectUri: 'http://127.0.0.1:1/cb' }),
    ).rejects.toMatchObject({ name: 'UnauthorizedClientException' });
    await expect(exchange({ grantType: 'password' })).rejects.toMatchObject({
      name: 'UnsupportedGrantTypeException',
    });
  });

  it('refuses callers from another account', async () => {
    await expect(exchange({ assertion: await idToken('alice') }, da().baseCredentials)).rejects.toMatchObject(
      {
        name: 'AccessDeniedException',
      },
    );
  });
});

describe('data accessor tenant checks', () => {
  const daExchange = async (credentials: AwsCredentialIdentity) =>
    exchange(
      { clientId: da().idcApplicationArn, assertion: await idToken('carol', { audience: da().clientId }) },
      credentials,
    );

  it('accepts a session of the ISV account tagged with the tenant', async () => {
    const res = await daExchange(await isvSession('IsvDataAccessorRole', da().tenantId));
    expect(res.awsAdditionalDetails?.identityContext).toBeTruthy();
  });

  it('refuses the ISV base keys, a session without the tag, and the wrong tenant', async () => {
    await expect(daExchange(da().baseCredentials)).rejects.toMatchObject({ name: 'AccessDeniedException' });
    await expect(daExchange(await isvSession('IsvNoTagSessionRole'))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      error_description: expect.stringContaining('tenant id is missing'),
    });
    await expect(daExchange(await isvSession('IsvDataAccessorRole', 'tenant-globex'))).rejects.toMatchObject({
      name: 'AccessDeniedException',
      error_description: expect.stringContaining('wrong tenant'),
    });
  });
});

describe('CreateTokenWithIAM refresh_token', () => {
  it('rotates: the new refresh token works, the old one does not', async () => {
    const first = await exchange({ assertion: await idToken('dave') });
    const second = await exchange({ grantType: 'refresh_token', refreshToken: first.refreshToken });
    expect(decodeJwt(second.idToken!).sub).toBe(idcUserId(findUser(sandbox().world, 'dave')!));
    await expect(
      exchange({ grantType: 'refresh_token', refreshToken: first.refreshToken }),
    ).rejects.toMatchObject(grantError('refresh token'));
    await exchange({ grantType: 'refresh_token', refreshToken: second.refreshToken });
  });

  it('answers like the SDK example (no idToken, no identity context) when refreshGrantIdentityContext is off', async () => {
    const first = await exchange({ assertion: await idToken('dave') });
    const state = sandbox().state;
    state.switches.refreshGrantIdentityContext = false;
    try {
      const res = await exchange({ grantType: 'refresh_token', refreshToken: first.refreshToken });
      expect(res).toMatchObject({ accessToken: expect.any(String), refreshToken: expect.any(String) });
      expect(res.tokenType).toBe('Bearer');
      expect(res.idToken).toBeUndefined();
      expect(res.awsAdditionalDetails).toBeUndefined();
    } finally {
      state.switches.refreshGrantIdentityContext = true;
    }
  });
});

/** A SigV4-signed POST /token?aws_iam=t with an arbitrary body. */
async function signedToken(body: string) {
  const url = new URL(endpoint());
  const request = new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/token',
    query: { aws_iam: 't' },
    headers: { host: url.host, 'content-type': 'application/json' },
    body,
  });
  const signer = new SignatureV4({
    credentials: idc().baseCredentials,
    region: 'us-west-2',
    service: 'sso-oauth',
    sha256: Sha256,
  });
  const signed = await signer.sign(request);
  const res = await fetch(`${endpoint()}/token?aws_iam=t`, {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body,
  });
  return {
    status: res.status,
    type: res.headers.get('x-amzn-errortype'),
    json: (await res.json()) as Record<string, unknown>,
  };
}

describe('bad input and faults', () => {
  it('answers garbage, wrong types and missing parameters with InvalidRequestException', async () => {
    for (const body of [
      '{{{',
      '[1,2]',
      JSON.stringify({ clientId: 7, grantType: JWT_BEARER }),
      JSON.stringify({ grantType: JWT_BEARER }),
    ]) {
      const res = await signedToken(body);
      expect(res.status).toBe(400);
      expect(res.type).toBe('InvalidRequestException');
      expect(res.json['error']).toBe('invalid_request');
    }
    await expect(exchange({ assertion: 'not.a.jwt' })).rejects.toMatchObject({
      name: 'InvalidGrantException',
    });
  });

  it('answers an unsigned call with MissingAuthenticationTokenException', async () => {
    const res = await fetch(`${endpoint()}/token?aws_iam=t`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException/);
  });

  it('applies armed faults for sso-oauth:CreateTokenWithIAM', async () => {
    const state = sandbox().state;
    state.faults.set('sso-oauth:CreateTokenWithIAM', { throttle: 1, serverError: 1 });
    const assertion = await idToken('alice');
    await expect(exchange({ assertion })).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(exchange({ assertion })).rejects.toMatchObject({ name: 'InternalServerException' });
    state.faults.delete('sso-oauth:CreateTokenWithIAM');
    await exchange({ assertion });
  });
});
