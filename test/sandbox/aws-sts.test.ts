/**
 * @module The AWS emulator's transport, SigV4 verification and STS, through the unmodified SDK
 * clients: rejections in AWS's error shapes, role trust rules, validation, faults, h2c.
 */
import { connect } from 'node:net';
import { connect as connect2, constants as http2constants } from 'node:http2';
import { describe, expect, it } from 'vitest';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  GetCallerIdentityCommand,
  STSClient,
  type AssumeRoleCommandInput,
} from '@aws-sdk/client-sts';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignJWT, generateKeyPair } from 'jose';
import type { AwsCredentialIdentity } from '@smithy/types';
import { useSandbox } from '../helpers/sandbox.js';
import { sessionFor } from '../helpers/credentials.js';
import { mintIdToken } from '../../tools/sandbox/idp/mint.js';
import { expireAllSessions } from '../../tools/sandbox/state.js';
import { issueIdentityContext } from '../../tools/sandbox/aws/identity-context.js';
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  IDENTITY_CENTER_CONTEXT_PROVIDER,
  findUser,
} from '../../tools/sandbox/world.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();

const endpoint = () => sandbox().description.awsEndpoint;
const sts = (credentials?: AwsCredentialIdentity, extra: Record<string, unknown> = {}) =>
  new STSClient({
    endpoint: endpoint(),
    region: 'us-east-1',
    maxAttempts: 1,
    ...(credentials ? { credentials } : {}),
    ...extra,
  });
const app = () => sandbox().description.modes.idc.baseCredentials;
const isv = () => sandbox().description.modes.dataAccessor.baseCredentials;

async function assume(credentials: AwsCredentialIdentity, input: AssumeRoleCommandInput) {
  const res = await sts(credentials).send(new AssumeRoleCommand(input));
  const c = res.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

/** Sends a SigV4-signed STS request with an arbitrary body, as a hand-rolled client would. */
async function signedPost(
  body: string,
  credentials = app(),
  contentType = 'application/x-www-form-urlencoded',
) {
  const url = new URL(endpoint());
  const request = new HttpRequest({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    headers: { host: url.host, 'content-type': contentType },
    body,
  });
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'sts', sha256: Sha256 });
  const signed = await signer.sign(request);
  const res = await fetch(endpoint(), {
    method: 'POST',
    headers: signed.headers as Record<string, string>,
    body,
  });
  return { status: res.status, text: await res.text() };
}

const xmlCode = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

/**
 * Signs a request with @smithy/signature-v4 (its signature covers `host`), then sends it over h2c with
 * the authority only in `:authority`, as HTTP/2 clients other than the SDK's do.
 */
async function h2SignedByHost(
  opts: { method: string; path: string; body?: string; contentType?: string },
  credentials: AwsCredentialIdentity,
  service: string,
  region: string,
  signedHost = new URL(endpoint()).host,
) {
  const url = new URL(endpoint());
  const request = new HttpRequest({
    method: opts.method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: opts.path,
    headers: {
      host: signedHost,
      ...(opts.contentType ? { 'content-type': opts.contentType } : {}),
    },
    ...(opts.body ? { body: opts.body } : {}),
  });
  const signed = await new SignatureV4({ credentials, region, service, sha256: Sha256 }).sign(request);
  expect(String(signed.headers['authorization'])).toMatch(/SignedHeaders=[^,]*\bhost\b/);
  const { host: _host, ...headers } = signed.headers;
  const session = connect2(endpoint());
  session.on('error', () => undefined);
  try {
    const stream = session.request({
      ':method': opts.method,
      ':path': opts.path,
      ':authority': url.host,
      ...headers,
    });
    stream.end(opts.body);
    const chunks: Buffer[] = [];
    const [status] = await Promise.all([
      new Promise<number>((resolve) => stream.on('response', (h) => resolve(Number(h[':status'])))),
      new Promise((resolve, reject) => {
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', resolve);
        stream.on('error', reject);
      }),
    ]);
    return { status, text: Buffer.concat(chunks).toString('utf8') };
  } finally {
    session.close();
  }
}

describe('SigV4 verification', () => {
  it('accepts the base keys and names the caller', async () => {
    const me = await sts(app()).send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({
      Account: sandbox().world.accounts.app,
      Arn: sandbox().world.baseCredentials.app.arn,
    });
  });

  it('rejects a bad signature, an unknown key and a wrong session token', async () => {
    await expect(
      sts({ ...app(), secretAccessKey: 'not-the-secret' }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    await expect(
      sts({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).send(
        new GetCallerIdentityCommand({}),
      ),
    ).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    const session = await assume(app(), {
      RoleArn: sandbox().description.modes.idc.roleArn,
      RoleSessionName: 'tok',
    });
    await expect(
      sts({ ...session, sessionToken: `${session.sessionToken}x` }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
  });

  it('rejects expired session credentials with ExpiredToken', async () => {
    const session = await assume(app(), {
      RoleArn: sandbox().description.modes.idc.roleArn,
      RoleSessionName: 'exp',
    });
    await sts(session).send(new GetCallerIdentityCommand({}));
    expireAllSessions(sandbox().state);
    await expect(sts(session).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'ExpiredToken',
    });
  });

  it('rejects a request signed more than 15 minutes off', async () => {
    await expect(
      sts(app(), { systemClockOffset: -20 * 60_000 }).send(new GetCallerIdentityCommand({})),
    ).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
      message: expect.stringContaining('Signature expired'),
    });
  });

  it('answers an unsigned call with MissingAuthenticationToken in STS XML', async () => {
    const res = await fetch(endpoint(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    expect(res.status).toBe(403);
    const xml = await res.text();
    expect(xml).toMatch(/^<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/">/);
    expect(xmlCode(xml)).toBe('MissingAuthenticationToken');
  });

  it('verifies h2c qbusiness requests too (same port, HTTP/2 prior knowledge)', async () => {
    const mode = sandbox().description.modes.idc;
    const q = (credentials: AwsCredentialIdentity) =>
      new QBusinessClient({ endpoint: endpoint(), region: mode.qRegion, credentials, maxAttempts: 1 });
    const input = {
      applicationId: mode.applicationId,
      queryText: 'anything',
      contentSource: { retriever: { retrieverId: mode.retrieverId } },
    };
    await expect(
      q({ ...app(), secretAccessKey: 'wrong' }).send(new SearchRelevantContentCommand(input)),
    ).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    // Correctly signed: the request reaches the Q service, which answers in its own terms.
    const err = await q(app())
      .send(new SearchRelevantContentCommand(input))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.name ?? 'ok').not.toMatch(/Signature|Unrecognized|MissingAuthentication/);
  });

  it('takes :authority as the host over HTTP/2 when the signature covers host (not our client)', async () => {
    const form = {
      method: 'POST',
      path: '/',
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      contentType: 'application/x-www-form-urlencoded',
    };
    const me = await h2SignedByHost(form, app(), 'sts', 'us-east-1');
    expect(me.status).toBe(200);
    expect(me.text).toContain(`<Account>${sandbox().world.accounts.app}</Account>`);
    // The Q data plane, with a user's session: same rule.
    const alice = await sessionFor(sandbox(), 'alice', 'idc');
    const list = await h2SignedByHost(
      { method: 'GET', path: `/applications/${alice.applicationId}/conversations` },
      alice.credentials,
      'qbusiness',
      sandbox().description.qRegion,
    );
    expect(list.status).toBe(200);
    expect(JSON.parse(list.text)).toHaveProperty('conversations');
    // The value is checked, not just the name: a signature over another host does not match.
    const elsewhere = await h2SignedByHost(form, app(), 'sts', 'us-east-1', 'sts.amazonaws.com');
    expect(elsewhere.status).toBe(403);
    expect(xmlCode(elsewhere.text)).toBe('SignatureDoesNotMatch');
  });
});

describe('STS AssumeRole trust rules', () => {
  const roles = () => {
    const arn = (name: string) => sandbox().world.roles.find((r) => r.name === name)!.arn;
    return {
      idc: arn('QIndexMcpIdcRole'),
      noContext: arn('QIndexMcpNoSetContextRole'),
      isv: arn('IsvDataAccessorRole'),
      noTag: arn('IsvNoTagSessionRole'),
    };
  };
  const context = () =>
    issueIdentityContext(
      sandbox().state.signingKey,
      { kind: 'idc', userId: 'u-1', email: 'alice@example.com', groups: ['engineering'] },
      new Date(Date.now() + 600_000),
    );

  it('refuses callers from an account the role does not trust', async () => {
    await expect(assume(isv(), { RoleArn: roles().idc, RoleSessionName: 'x-acct' })).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('sts:AssumeRole'),
    });
  });

  it('demands the data-accessor ExternalId tag, and sts:TagSession for tags', async () => {
    await expect(assume(isv(), { RoleArn: roles().isv, RoleSessionName: 'no-tag' })).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    const tags = [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: 'tenant-acme' }];
    await expect(
      assume(isv(), { RoleArn: roles().noTag, RoleSessionName: 'tagged', Tags: tags }),
    ).rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringContaining('sts:TagSession') });
    const ok = await assume(isv(), { RoleArn: roles().isv, RoleSessionName: 'tagged', Tags: tags });
    expect(sandbox().state.sessions.get(ok.accessKeyId)?.tags).toEqual({
      [DATA_ACCESSOR_EXTERNAL_ID_TAG]: 'tenant-acme',
    });
  });

  it('checks ProvidedContexts: sts:SetContext, provider, tampering and expiry', async () => {
    const provided = (assertion: string, provider = IDENTITY_CENTER_CONTEXT_PROVIDER) => [
      { ProviderArn: provider, ContextAssertion: assertion },
    ];
    await expect(
      assume(app(), {
        RoleArn: roles().noContext,
        RoleSessionName: 'ctx',
        ProvidedContexts: provided(context()),
      }),
    ).rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringContaining('sts:SetContext') });
    const good = context();
    const [v, body, sig] = good.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(body, 'base64url').toString()) as {
      identity: { groups: string[] };
    };
    forged.identity.groups.push('finance');
    const tampered = `${v}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`;
    await expect(
      assume(app(), { RoleArn: roles().idc, RoleSessionName: 'ctx', ProvidedContexts: provided(tampered) }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', $metadata: { httpStatusCode: 400 } });
    await expect(
      assume(app(), {
        RoleArn: roles().idc,
        RoleSessionName: 'ctx',
        ProvidedContexts: provided(good, 'arn:aws:iam::aws:contextProvider/Other'),
      }),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    const expired = issueIdentityContext(
      sandbox().state.signingKey,
      { kind: 'idc', userId: 'u-1', email: 'alice@example.com', groups: [] },
      new Date(Date.now() - 1000),
    );
    await expect(
      assume(app(), { RoleArn: roles().idc, RoleSessionName: 'ctx', ProvidedContexts: provided(expired) }),
    ).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    const ok = await assume(app(), {
      RoleArn: roles().idc,
      RoleSessionName: 'ctx',
      ProvidedContexts: provided(good),
    });
    expect(sandbox().state.sessions.get(ok.accessKeyId)?.identity?.groups).toEqual(['engineering']);
  });

  it('holds ExternalId, session tags and context assertions to the model constraints', async () => {
    const tag = (Value: string, Key = DATA_ACCESSOR_EXTERNAL_ID_TAG) => [{ Key, Value }];
    const base = { RoleArn: roles().isv, RoleSessionName: 'shape', Tags: tag('tenant-acme') };
    const invalid = { name: 'ValidationError', $metadata: { httpStatusCode: 400 } };
    // externalIdType `[\w+=,.@:\/-]*`
    await expect(assume(isv(), { ...base, ExternalId: 'has a space' })).rejects.toMatchObject(invalid);
    await expect(assume(isv(), { ...base, ExternalId: 'ok:id/1' })).resolves.toBeDefined();
    // tagKeyType and tagValueType `[\p{L}\p{Z}\p{N}_.:/=+\-@]`
    await expect(assume(isv(), { ...base, Tags: tag('tenant#acme') })).rejects.toMatchObject(invalid);
    await expect(
      assume(isv(), { ...base, Tags: [...tag('tenant-acme'), ...tag('x', 'team!')] }),
    ).rejects.toMatchObject(invalid);
    // contextAssertionType: at most 2048 characters.
    await expect(
      assume(app(), {
        RoleArn: roles().idc,
        RoleSessionName: 'ctx',
        ProvidedContexts: [
          { ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: 'a'.repeat(2049) },
        ],
      }),
    ).rejects.toMatchObject(invalid);
  });

  it('caps durations: the role maximum, and one hour for chained sessions', async () => {
    await expect(
      assume(app(), { RoleArn: roles().idc, RoleSessionName: 'long', DurationSeconds: 7200 }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('MaxSessionDuration'),
    });
    const first = await assume(app(), {
      RoleArn: roles().idc,
      RoleSessionName: 'first',
      DurationSeconds: 900,
    });
    await expect(
      assume(first, { RoleArn: roles().idc, RoleSessionName: 'chained', DurationSeconds: 3700 }),
    ).rejects.toMatchObject({ name: 'ValidationError', message: expect.stringContaining('role chaining') });
    const chained = await assume(first, { RoleArn: roles().idc, RoleSessionName: 'chained' });
    expect(sandbox().state.sessions.get(chained.accessKeyId)?.chained).toBe(true);
  });
});

describe('STS SourceIdentity', () => {
  const role = (name: string) => sandbox().world.roles.find((r) => r.name === name)!.arn;
  const assumeOut = (credentials: AwsCredentialIdentity, input: AssumeRoleCommandInput) =>
    sts(credentials).send(new AssumeRoleCommand(input));

  it('is echoed by AssumeRole, kept on the session and carried unchanged along a role chain', async () => {
    const idcRole = role('QIndexMcpIdcRole');
    const first = await assumeOut(app(), {
      RoleArn: idcRole,
      RoleSessionName: 'src',
      SourceIdentity: 'alice@example.com',
    });
    expect(first.SourceIdentity).toBe('alice@example.com');
    expect(sandbox().state.sessions.get(first.Credentials!.AccessKeyId!)?.sourceIdentity).toBe(
      'alice@example.com',
    );
    const session = {
      accessKeyId: first.Credentials!.AccessKeyId!,
      secretAccessKey: first.Credentials!.SecretAccessKey!,
      sessionToken: first.Credentials!.SessionToken!,
    };
    // Chained without it, or with the same value: the session keeps it.
    for (const SourceIdentity of [undefined, 'alice@example.com']) {
      const chained = await assumeOut(session, { RoleArn: idcRole, RoleSessionName: 'hop', SourceIdentity });
      expect(chained.SourceIdentity).toBe('alice@example.com');
    }
    // "After the source identity is set, the value cannot be changed."
    await expect(
      assumeOut(session, { RoleArn: idcRole, RoleSessionName: 'hop', SourceIdentity: 'mallory' }),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('sts:SetSourceIdentity'),
    });
    // Carrying it into a role whose trust policy does not allow sts:SetSourceIdentity fails as setting it does.
    await expect(
      assumeOut(session, { RoleArn: role('QIndexMcpNoSetContextRole'), RoleSessionName: 'hop' }),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('sts:SetSourceIdentity'),
    });
    await expect(
      assumeOut(app(), {
        RoleArn: role('QIndexMcpNoSetContextRole'),
        RoleSessionName: 'src',
        SourceIdentity: 'alice',
      }),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
      message: expect.stringContaining('sts:SetSourceIdentity'),
    });
    // Without one, none is invented.
    const plain = await assumeOut(app(), { RoleArn: idcRole, RoleSessionName: 'none' });
    expect(plain.SourceIdentity).toBeUndefined();
  });

  it('holds SourceIdentity to sourceIdentityType: 2-64 characters of [\\w+=,.@-]', async () => {
    const input = (SourceIdentity: string) => ({
      RoleArn: role('QIndexMcpIdcRole'),
      RoleSessionName: 'shape',
      SourceIdentity,
    });
    const invalid = { name: 'ValidationError', $metadata: { httpStatusCode: 400 } };
    for (const bad of ['a', 'x'.repeat(65), 'has space', 'aws:reserved', 'tab\there']) {
      await expect(assumeOut(app(), input(bad))).rejects.toMatchObject(invalid);
    }
    await expect(assumeOut(app(), input('has space'))).rejects.toMatchObject({
      message: expect.stringContaining("Value 'has space' at 'sourceIdentity'"),
    });
    for (const good of ['ab', 'x'.repeat(64), 'user+tag=1,a.b@c-d_e']) {
      expect((await assumeOut(app(), input(good))).SourceIdentity).toBe(good);
    }
  });

  it('comes from the token claim https://aws.amazon.com/source_identity in AssumeRoleWithWebIdentity', async () => {
    const sb = sandbox();
    const mode = sb.description.modes.iamFederation;
    const web = async (claim: unknown) =>
      sts().send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: 'web',
          WebIdentityToken: await mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, 'carol')!, {
            audience: mode.clientId,
            claims: { 'https://aws.amazon.com/source_identity': claim },
          }),
        }),
      );
    const out = await web('carol@example.com');
    expect(out.SourceIdentity).toBe('carol@example.com');
    expect(sb.state.sessions.get(out.Credentials!.AccessKeyId!)?.sourceIdentity).toBe('carol@example.com');
    expect((await web(undefined)).SourceIdentity).toBeUndefined();
    await expect(web('not valid!')).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' });
  });
});

describe('STS AssumeRoleWithWebIdentity', () => {
  const input = async (
    claims: Record<string, unknown> = {},
    opts: { audience?: string; ttlSeconds?: number } = {},
  ) => {
    const sb = sandbox();
    const mode = sb.description.modes.iamFederation;
    const token = await mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, 'alice')!, {
      audience: opts.audience ?? mode.clientId,
      ttlSeconds: opts.ttlSeconds,
      claims,
    });
    return { RoleArn: mode.roleArn, RoleSessionName: 'alice', WebIdentityToken: token };
  };

  it('answers with the members the model documents for an OIDC ID token', async () => {
    const sb = sandbox();
    const out = await sts().send(new AssumeRoleWithWebIdentityCommand(await input()));
    expect(out).toMatchObject({
      // "For OpenID Connect ID tokens, this contains the value of the iss field."
      Provider: sb.world.issuer,
      Audience: sb.description.modes.iamFederation.clientId,
      SubjectFromWebIdentityToken: subjectOf('alice'),
      AssumedRoleUser: { Arn: expect.stringContaining(':assumed-role/') },
    });
    expect(out.Credentials?.Expiration).toBeInstanceOf(Date);
  });

  it("gives every IdP user a subject within webIdentitySubjectType's 6-255 characters", async () => {
    const sb = sandbox();
    const mode = sb.description.modes.iamFederation;
    const subjects = new Set<string>();
    for (const user of sb.world.users) {
      // The IdP's own token endpoint, through a minted refresh token: the ID token a login yields.
      const refreshToken = await sb.idp.mintRefreshToken({ username: user.username });
      const res = await fetch(`${sb.world.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: refreshToken,
          client_id: mode.clientId,
        }),
      });
      const { id_token } = (await res.json()) as { id_token: string };
      const out = await sts().send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: user.username,
          WebIdentityToken: id_token,
        }),
      );
      const subject = out.SubjectFromWebIdentityToken!;
      expect(subject.length, user.username).toBeGreaterThanOrEqual(6);
      expect(subject.length).toBeLessThanOrEqual(255);
      expect(subject).toBe(subjectOf(user.username));
      subjects.add(subject);
    }
    expect(subjects.size).toBe(sb.world.users.length);
  });

  it('rejects a token without the Email principal tag', async () => {
    await expect(
      sts().send(
        new AssumeRoleWithWebIdentityCommand(await input({ 'https://aws.amazon.com/tags': undefined })),
      ),
    ).rejects.toMatchObject({ name: 'AccessDenied', message: expect.stringContaining('Email') });
  });

  it('rejects a wrong audience, an expired token and a forged signature', async () => {
    await expect(
      sts().send(new AssumeRoleWithWebIdentityCommand(await input({}, { audience: 'unrelated-app' }))),
    ).rejects.toMatchObject({ name: 'InvalidIdentityTokenException', message: 'Incorrect token audience' });
    await expect(
      sts().send(new AssumeRoleWithWebIdentityCommand(await input({}, { ttlSeconds: -120 }))),
    ).rejects.toMatchObject({ name: 'ExpiredTokenException' });
    const { privateKey } = await generateKeyPair('RS256');
    const sb = sandbox();
    const forged = await new SignJWT({
      email: 'alice@example.com',
      'https://aws.amazon.com/tags': { principal_tags: { Email: ['alice@example.com'] } },
    })
      .setProtectedHeader({ alg: 'RS256', kid: sb.keys.kid })
      .setIssuer(sb.world.issuer)
      .setAudience(sb.description.modes.iamFederation.clientId)
      .setSubject('alice')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(
      sts().send(new AssumeRoleWithWebIdentityCommand({ ...(await input()), WebIdentityToken: forged })),
    ).rejects.toMatchObject({ name: 'InvalidIdentityTokenException' });
  });
});

describe('bad input, faults and resilience', () => {
  it('answers garbage and missing parameters with STS validation errors', async () => {
    const garbage = await signedPost('\u0000\u00ff{{{not a form');
    expect(garbage.status).toBe(400);
    expect(xmlCode(garbage.text)).toBe('MissingAction');
    const unknown = await signedPost('Action=DeleteEverything&Version=2011-06-15');
    expect(xmlCode(unknown.text)).toBe('InvalidAction');
    const missing = await signedPost('Action=AssumeRole&Version=2011-06-15&RoleSessionName=abc');
    expect(missing.status).toBe(400);
    expect(xmlCode(missing.text)).toBe('ValidationError');
    const badDuration = await signedPost(
      `Action=AssumeRole&Version=2011-06-15&RoleSessionName=abc&RoleArn=${encodeURIComponent(sandbox().description.modes.idc.roleArn)}&DurationSeconds=soon`,
    );
    expect(xmlCode(badDuration.text)).toBe('InvalidParameterValue');
    await expect(
      sts(app()).send(new AssumeRoleCommand({ RoleArn: 'not-an-arn-at-all-really', RoleSessionName: 'x y' })),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('never repeats a token or external id back in an error message', async () => {
    const canary = 'CANARY-5ecret-t0ken-value';
    const mode = sandbox().description.modes.iamFederation;
    const err = await sts()
      .send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: 'c',
          WebIdentityToken: canary,
        }),
      )
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'ValidationError' });
    const err2 = await sts()
      .send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: 'canary',
          WebIdentityToken: `${canary}.x.y`,
        }),
      )
      .catch((e: Error) => e);
    expect(err2).toMatchObject({ name: 'InvalidIdentityTokenException' });
    const err3 = await assume(isv(), {
      RoleArn: sandbox().description.modes.dataAccessor.roleArn,
      RoleSessionName: 'cc',
      ExternalId: 'x',
    }).catch((e: Error) => e);
    expect(err3).toMatchObject({ name: 'ValidationError' });
    for (const e of [err, err2, err3] as Error[]) {
      expect(`${e.message} ${JSON.stringify(e)}`).not.toMatch(/CANARY|Value 'x'/);
    }
  });

  it('survives a connection that sends junk, and keeps serving', async () => {
    const url = new URL(endpoint());
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () =>
        socket.end('\u0016\u0003\u0001junk\r\n\r\n'),
      );
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
    expect((await sts(app()).send(new GetCallerIdentityCommand({}))).Account).toBe(
      sandbox().world.accounts.app,
    );
  });

  it('survives clients that abandon requests mid-body (HTTP/2 stream reset, HTTP/1.1 socket drop)', async () => {
    const url = new URL(endpoint());
    const session = connect2(endpoint());
    session.on('error', () => undefined);
    const stream = session.request({ ':method': 'POST', ':path': '/applications/x/relevant-content' });
    stream.on('error', () => undefined);
    stream.write('{"queryText":');
    await new Promise((r) => setTimeout(r, 20));
    stream.close(http2constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 20));
    session.destroy();
    await new Promise<void>((resolve) => {
      const socket = connect(Number(url.port), url.hostname, () =>
        socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=', () =>
          socket.destroy(),
        ),
      );
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    expect((await sts(app()).send(new GetCallerIdentityCommand({}))).Account).toBe(
      sandbox().world.accounts.app,
    );
  });

  it('applies an armed throttle fault and counts calls', async () => {
    const state = sandbox().state;
    const before = state.counters.get('sts:GetCallerIdentity') ?? 0;
    state.faults.set('sts:GetCallerIdentity', { throttle: 1 });
    await expect(sts(app()).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    await sts(app()).send(new GetCallerIdentityCommand({}));
    state.faults.delete('sts:GetCallerIdentity');
    expect(state.counters.get('sts:GetCallerIdentity')).toBe(before + 2);
  });
});
