/**
 * @module The identity chains of design.md §2 (2a, 2b, 2c, 2d), each driven with the unmodified
 * SDK clients against the sandbox and ending in credentials that GetCallerIdentity accepts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { decodeJwt } from 'jose';
import type { AwsCredentialIdentity } from '@smithy/types';
import { useSandbox } from '../helpers/sandbox.js';
import { mintIdToken } from '../../tools/sandbox/idp/mint.js';
import {
  findUser,
  IDENTITY_CENTER_CONTEXT_PROVIDER,
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
} from '../../tools/sandbox/world.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const sts = (credentials?: AwsCredentialIdentity) =>
  new STSClient({
    endpoint: sandbox().description.awsEndpoint,
    region: 'us-east-1',
    maxAttempts: 1,
    ...(credentials ? { credentials } : {}),
  });
const oidc = (credentials: AwsCredentialIdentity) =>
  new SSOOIDCClient({
    endpoint: sandbox().description.awsEndpoint,
    region: sandbox().description.idcRegion,
    maxAttempts: 1,
    credentials,
  });

async function idToken(username: string, audience: string) {
  const sb = sandbox();
  return mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, username)!, { audience });
}

const creds = (
  c: { AccessKeyId?: string; SecretAccessKey?: string; SessionToken?: string } | undefined,
): AwsCredentialIdentity => ({
  accessKeyId: c!.AccessKeyId!,
  secretAccessKey: c!.SecretAccessKey!,
  sessionToken: c!.SessionToken!,
});

/** The session the emulator recorded for these credentials (what the Q data plane will read). */
const sessionOf = (c: AwsCredentialIdentity) => sandbox().state.sessions.get(c.accessKeyId);

describe('2a: IdC + trusted token issuer, the customer app', () => {
  it('ID token → CreateTokenWithIAM → AssumeRole with ProvidedContexts → GetCallerIdentity', async () => {
    const mode = sandbox().description.modes.idc;
    const token = await oidc(mode.baseCredentials).send(
      new CreateTokenWithIAMCommand({
        clientId: mode.idcApplicationArn,
        grantType: JWT_BEARER,
        assertion: await idToken('alice', mode.clientId),
      }),
    );
    const context = decodeJwt(token.idToken!)['sts:identity_context'] as string;
    expect(context).toBe(token.awsAdditionalDetails?.identityContext);
    expect(token.tokenType).toBe('Bearer');
    expect(token.expiresIn).toBe(3600);
    expect(token.refreshToken).toBeTruthy();
    const assumed = await sts(mode.baseCredentials).send(
      new AssumeRoleCommand({
        RoleArn: mode.roleArn,
        RoleSessionName: 'qindex-alice',
        DurationSeconds: 3600,
        ProvidedContexts: [{ ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: context }],
      }),
    );
    const c = creds(assumed.Credentials);
    expect(c.accessKeyId).toMatch(/^ASIA/);
    const me = await sts(c).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(
      `arn:aws:sts::${sandbox().world.accounts.app}:assumed-role/QIndexMcpIdcRole/qindex-alice`,
    );
    expect(sessionOf(c)?.identity).toMatchObject({
      kind: 'idc',
      email: 'alice@example.com',
      groups: ['engineering', 'all-employees'],
      idcApplicationArn: mode.idcApplicationArn,
      qApplicationId: mode.applicationId,
    });
  });
});

/** 2b steps 2–5 for one tenant; returns the final credentials. */
async function dataAccessorChain(tenantIndex: number, username: string) {
  const mode = sandbox().description.modes.dataAccessorTenants[tenantIndex]!;
  const tag = [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: mode.tenantId }];
  const tagged = await sts(mode.baseCredentials).send(
    new AssumeRoleCommand({ RoleArn: mode.roleArn, RoleSessionName: 'isv-exchange', Tags: tag }),
  );
  const token = await oidc(creds(tagged.Credentials)).send(
    new CreateTokenWithIAMCommand({
      clientId: mode.idcApplicationArn,
      grantType: JWT_BEARER,
      assertion: await idToken(username, mode.clientId),
    }),
  );
  const context = decodeJwt(token.idToken!)['sts:identity_context'] as string;
  const final = await sts(mode.baseCredentials).send(
    new AssumeRoleCommand({
      RoleArn: mode.roleArn,
      RoleSessionName: `isv-${username}`,
      Tags: tag,
      ProvidedContexts: [{ ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: context }],
    }),
  );
  return { mode, credentials: creds(final.Credentials) };
}

describe('2b: Q index data accessor with a trusted token issuer', () => {
  it('tagged AssumeRole → CreateTokenWithIAM → AssumeRole with context and tag → GetCallerIdentity', async () => {
    const { mode, credentials } = await dataAccessorChain(0, 'bob');
    const me = await sts(credentials).send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe(sandbox().world.accounts.isv);
    expect(sessionOf(credentials)?.identity).toMatchObject({
      kind: 'data-accessor',
      email: 'bob@example.com',
      tenantId: mode.tenantId,
      dataAccessorId: mode.dataAccessorId,
      qApplicationId: mode.applicationId,
    });
  });

  it('keeps tenants apart: the second tenant gets its own data accessor and tenant id', async () => {
    const { mode, credentials } = await dataAccessorChain(1, 'carol');
    expect(mode.tenantId).not.toBe(sandbox().description.modes.dataAccessor.tenantId);
    expect(sessionOf(credentials)?.identity).toMatchObject({
      tenantId: mode.tenantId,
      dataAccessorId: mode.dataAccessorId,
    });
    expect((await sts(credentials).send(new GetCallerIdentityCommand({}))).Arn).toContain('isv-carol');
  });
});

/** A fetch that keeps cookies by hand and never follows redirects (a scripted browser). */
function browser() {
  const jar = new Map<string, string>();
  return async (url: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const set of res.headers.getSetCookie()) {
      const pair = set.split(';')[0]!;
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(set)) jar.delete(pair.slice(0, eq).trim());
      else jar.set(pair.slice(0, eq).trim(), value);
    }
    return res;
  };
}

/** Follows redirects until one reaches `stopAt`; returns that URL, or the page where it stopped. */
async function follow(get: ReturnType<typeof browser>, url: string, stopAt: string, init?: RequestInit) {
  let res = await get(url, init);
  let current = url;
  while (res.status >= 300 && res.status < 400) {
    current = new URL(res.headers.get('location')!, current).href;
    if (current.startsWith(stopAt)) return { url: current, html: '' };
    res = await get(current);
  }
  return { url: current, html: await res.text() };
}

/** A scripted browser through /authorize and the IdP login form; returns where it landed on the loopback redirect. */
async function authorizeInBrowser(username: string) {
  const mode = sandbox().description.modes.dataAccessor;
  const redirectUri = 'http://127.0.0.1:53682/oauth/callback';
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(8).toString('hex');
  const authorize = new URL('/authorize', mode.awsEndpoint);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: mode.idcApplicationArn,
    redirect_uri: redirectUri,
    state,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  const get = browser();
  const login = await follow(get, authorize.href, redirectUri);
  expect(login.html).toContain('name="password"');
  const action = /<form[^>]*action="([^"]+)"/.exec(login.html)![1]!.replace(/&amp;/g, '&');
  const back = await follow(get, new URL(action, login.url).href, redirectUri, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: username, password: `${username}-pw` }),
  });
  const landed = new URL(back.url);
  expect(landed.searchParams.get('state')).toBe(state);
  return { mode, landed, redirectUri, verifier };
}

async function taggedIsvSession() {
  const mode = sandbox().description.modes.dataAccessor;
  const tag = [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: mode.tenantId }];
  const res = await sts(mode.baseCredentials).send(
    new AssumeRoleCommand({ RoleArn: mode.roleArn, RoleSessionName: 'isv-code', Tags: tag }),
  );
  return creds(res.Credentials);
}

describe('2c: Q index data accessor with IdC authorization code', () => {
  it('/authorize → IdP login → code on the loopback redirect → CreateTokenWithIAM → AssumeRole → GetCallerIdentity', async () => {
    const { mode, landed, redirectUri, verifier } = await authorizeInBrowser('dave');
    const code = landed.searchParams.get('code')!;
    expect(code).toBeTruthy();

    const tag = [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: mode.tenantId }];
    const tagged = creds(
      (
        await sts(mode.baseCredentials).send(
          new AssumeRoleCommand({ RoleArn: mode.roleArn, RoleSessionName: 'isv-code', Tags: tag }),
        )
      ).Credentials,
    );
    const token = await oidc(tagged).send(
      new CreateTokenWithIAMCommand({
        clientId: mode.idcApplicationArn,
        grantType: 'authorization_code',
        code,
        redirectUri,
        codeVerifier: verifier,
      }),
    );
    // The code is single-use.
    await expect(
      oidc(tagged).send(
        new CreateTokenWithIAMCommand({
          clientId: mode.idcApplicationArn,
          grantType: 'authorization_code',
          code,
          redirectUri,
          codeVerifier: verifier,
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidGrantException' });
    const final = creds(
      (
        await sts(mode.baseCredentials).send(
          new AssumeRoleCommand({
            RoleArn: mode.roleArn,
            RoleSessionName: 'isv-dave',
            Tags: tag,
            ProvidedContexts: [
              {
                ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER,
                ContextAssertion: token.awsAdditionalDetails!.identityContext!,
              },
            ],
          }),
        )
      ).Credentials,
    );
    expect((await sts(final).send(new GetCallerIdentityCommand({}))).Arn).toContain(
      'assumed-role/IsvDataAccessorRole/isv-dave',
    );
    expect(sessionOf(final)?.identity).toMatchObject({
      kind: 'data-accessor',
      email: 'dave@example.com',
      tenantId: mode.tenantId,
    });
  });

  it('refuses a wrong PKCE verifier or redirect URI, users outside the IdC directory, and unregistered redirects', async () => {
    const tagged = await taggedIsvSession();
    const exchange = (code: string, redirectUri: string, codeVerifier: string) =>
      oidc(tagged).send(
        new CreateTokenWithIAMCommand({
          clientId: sandbox().description.modes.dataAccessor.idcApplicationArn,
          grantType: 'authorization_code',
          code,
          redirectUri,
          codeVerifier,
        }),
      );
    const first = await authorizeInBrowser('alice');
    await expect(
      exchange(
        first.landed.searchParams.get('code')!,
        first.redirectUri,
        randomBytes(32).toString('base64url'),
      ),
    ).rejects.toMatchObject({
      name: 'InvalidGrantException',
      error_description: expect.stringContaining('PKCE'),
    });
    const second = await authorizeInBrowser('alice');
    await expect(
      exchange(second.landed.searchParams.get('code')!, 'http://127.0.0.1:1/other', second.verifier),
    ).rejects.toMatchObject({
      name: 'InvalidGrantException',
      error_description: expect.stringContaining('redirect'),
    });

    const outsider = await authorizeInBrowser('mallory');
    expect(outsider.landed.searchParams.get('code')).toBeNull();
    expect(outsider.landed.searchParams.get('error')).toBe('access_denied');

    const mode = sandbox().description.modes.dataAccessor;
    const bad = new URL('/authorize', mode.awsEndpoint);
    bad.search = new URLSearchParams({
      response_type: 'code',
      client_id: mode.idcApplicationArn,
      redirect_uri: 'https://evil.example/cb',
    }).toString();
    const res = await fetch(bad, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
  });
});

describe('2d: IAM federation', () => {
  it('AssumeRoleWithWebIdentity (unsigned) → GetCallerIdentity', async () => {
    const mode = sandbox().description.modes.iamFederation;
    const res = await sts().send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: mode.roleArn,
        RoleSessionName: 'erin',
        WebIdentityToken: await idToken('erin', mode.clientId),
        DurationSeconds: 900,
      }),
    );
    expect(res.SubjectFromWebIdentityToken).toBe(subjectOf('erin'));
    expect(res.Audience).toBe(mode.clientId);
    const c = creds(res.Credentials);
    const me = await sts(c).send(new GetCallerIdentityCommand({}));
    expect(me.Arn).toBe(
      `arn:aws:sts::${sandbox().world.accounts.app}:assumed-role/QIndexMcpWebIdentityRole/erin`,
    );
    expect(sessionOf(c)?.identity).toEqual({
      kind: 'iam-federation',
      userId: subjectOf('erin'),
      email: 'erin@example.com',
      groups: [],
    });
  });
});
