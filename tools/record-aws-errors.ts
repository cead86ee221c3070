/**
 * @module Records the errors the AWS SDK v3 clients (client-sts, client-sso-oidc, the credential
 * provider chain) throw for every identity-exchange failure the sandbox can produce, as plain shapes
 * (name, $fault, status, message, OAuth fields, Node's `code`) in test/identity/fixtures/aws-errors.json.
 * src/identity/errors.ts is unit-tested against them; a sandbox test fails when the file is out of date.
 * Regenerate with `npx tsx tools/record-aws-errors.ts`.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  AssumeRoleCommand,
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type AssumeRoleCommandInput,
} from '@aws-sdk/client-sts';
import {
  CreateTokenWithIAMCommand,
  SSOOIDCClient,
  type CreateTokenWithIAMRequest,
} from '@aws-sdk/client-sso-oidc';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignJWT, generateKeyPair } from 'jose';
import type { AwsCredentialIdentity } from '@smithy/types';
import * as prettier from 'prettier';
import type { ExchangeStep } from '../src/identity/errors.js';
import { startSandbox, type Sandbox } from './sandbox/index.js';
import { expireAllSessions } from './sandbox/state.js';
import { mintIdToken } from './sandbox/idp/mint.js';
import { issueIdentityContext } from './sandbox/aws/identity-context.js';
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  IDENTITY_CENTER_CONTEXT_PROVIDER,
  findUser,
} from './sandbox/world.js';

export const FIXTURE_PATH = fileURLToPath(
  new URL('../test/identity/fixtures/aws-errors.json', import.meta.url),
);

/** Stands for the sandbox IdP's issuer URL, whose port changes on every start. */
export const ISSUER_PLACEHOLDER = 'https://idp.sandbox.example';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Nothing listens on the discard port: the SDK's own connection error. */
const CLOSED_ENDPOINT = 'http://127.0.0.1:9';

/** What the product's error mapping may read of an SDK error. */
export interface AwsErrorShape {
  name: string;
  $fault?: string;
  httpStatusCode?: number;
  message: string;
  error?: string;
  error_description?: string;
  reason?: string;
  /** Node's system error code (ECONNREFUSED …) for errors below HTTP. */
  code?: string;
}

/** Which configuration made the call: the mapping's remedies depend on the mode and grant. */
export type RecordedMode = 'idc' | 'data-accessor' | 'data-accessor auth-code' | 'iam-federation';

export interface RecordedAwsError {
  id: string;
  /** The exchange step the product would have been running. */
  step: ExchangeStep;
  mode: RecordedMode;
  /** How the sandbox was made to fail, for people. */
  cause: string;
  /** Non-secret claims of the ID token sent, if any (the issuer normalized). */
  claims?: { iss?: string; aud?: string; email?: string };
  error: AwsErrorShape;
}

interface Case {
  id: string;
  step: ExchangeStep;
  mode: RecordedMode;
  cause: string;
  claims?: RecordedAwsError['claims'];
  run(): Promise<unknown>;
}

/** The fields of an SDK error the mapping reads; everything else (request ids, stacks) is left out. */
export function shapeOf(e: unknown): AwsErrorShape {
  const err = (e ?? {}) as Record<string, unknown>;
  const str = (k: string) => (typeof err[k] === 'string' ? (err[k] as string) : undefined);
  const status = (err.$metadata as { httpStatusCode?: unknown } | undefined)?.httpStatusCode;
  const shape: AwsErrorShape = { name: str('name') ?? 'Error', message: str('message') ?? '' };
  if (str('$fault')) shape.$fault = str('$fault');
  if (typeof status === 'number') shape.httpStatusCode = status;
  for (const k of ['error', 'error_description', 'reason', 'code'] as const) {
    const v = str(k);
    if (v !== undefined) shape[k] = v;
  }
  return shape;
}

export async function recordAwsErrors(sb: Sandbox): Promise<RecordedAwsError[]> {
  const out: RecordedAwsError[] = [];
  const normalize = (s: string) => s.split(sb.description.issuer).join(ISSUER_PLACEHOLDER);
  for (const c of cases(sb)) {
    sb.state.faults.clear();
    let thrown: unknown;
    try {
      await c.run();
    } catch (e) {
      thrown = e;
    }
    if (thrown === undefined) throw new Error(`${c.id}: the call succeeded; the case no longer fails`);
    const shape = shapeOf(thrown);
    for (const k of Object.keys(shape) as Array<keyof AwsErrorShape>) {
      if (typeof shape[k] === 'string') (shape as unknown as Record<string, string>)[k] = normalize(shape[k]);
    }
    const { run: _run, claims, ...meta } = c;
    out.push({ ...meta, ...(claims ? { claims } : {}), error: shape });
  }
  sb.state.faults.clear();
  return out;
}

function cases(sb: Sandbox): Case[] {
  const d = sb.description;
  const { idc, dataAccessor: da, iamFederation: fed } = d.modes;
  const idcApp = (suffix: string) => sb.world.idcApplications.find((a) => a.arn.endsWith(suffix))!.arn;
  const role = (name: string) => sb.world.roles.find((r) => r.name === name)!.arn;

  const sts = (credentials?: AwsCredentialIdentity, endpoint = d.awsEndpoint) =>
    new STSClient({
      endpoint,
      region: d.qRegion,
      maxAttempts: 1,
      ...(credentials ? { credentials } : {}),
    });
  const oidc = (
    credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>),
    region = d.idcRegion,
  ) => new SSOOIDCClient({ endpoint: d.awsEndpoint, region, maxAttempts: 1, credentials });
  const assume = async (credentials: AwsCredentialIdentity, input: AssumeRoleCommandInput) => {
    const c = (await sts(credentials).send(new AssumeRoleCommand(input))).Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
  };
  const token = (
    username: string,
    audience: string,
    opts: { ttlSeconds?: number; claims?: Record<string, unknown> } = {},
  ) => mintIdToken(sb.world.issuer, sb.keys, findUser(sb.world, username)!, { audience, ...opts });
  const exchange = (
    credentials: AwsCredentialIdentity | (() => Promise<AwsCredentialIdentity>),
    input: CreateTokenWithIAMRequest,
    region?: string,
  ) => oidc(credentials, region).send(new CreateTokenWithIAMCommand(input));
  const jwtBearer = async (
    username: string,
    opts: { clientId?: string; audience?: string; ttlSeconds?: number } = {},
  ) =>
    exchange(idc.baseCredentials, {
      clientId: opts.clientId ?? idc.idcApplicationArn,
      grantType: JWT_BEARER,
      assertion: await token(username, opts.audience ?? idc.clientId, opts),
    });
  const tagged = (tenantId: string) =>
    assume(da.baseCredentials, {
      RoleArn: da.roleArn,
      RoleSessionName: 'qindex-mcp-recorder',
      DurationSeconds: 900,
      Tags: [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: tenantId }],
    });
  const daExchange = async (
    credentials: AwsCredentialIdentity,
    input: Partial<CreateTokenWithIAMRequest> = {},
  ) =>
    exchange(credentials, {
      clientId: da.idcApplicationArn,
      grantType: JWT_BEARER,
      assertion: await token('alice', da.clientId),
      ...input,
    });
  const withContext = (roleArn: string, context: string) =>
    sts(idc.baseCredentials).send(
      new AssumeRoleCommand({
        RoleArn: roleArn,
        RoleSessionName: 'qindex-mcp-recorder',
        ProvidedContexts: [{ ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: context }],
      }),
    );
  const context = (expiresAt: Date) =>
    issueIdentityContext(
      sb.state.signingKey,
      { kind: 'idc', userId: 'u-recorder', email: 'alice@example.com', groups: [] },
      expiresAt,
    );
  const web = (webIdentityToken: string, roleArn = fed.roleArn) =>
    sts().send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: 'qindex-mcp-recorder',
        WebIdentityToken: webIdentityToken,
      }),
    );
  const tamper = (jwt: string) => `${jwt.slice(0, -4)}${jwt.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const arm = (operation: string, spec: Parameters<Sandbox['state']['faults']['set']>[1]) =>
    sb.state.faults.set(operation, spec);
  const alice = (aud: string) => ({ iss: ISSUER_PLACEHOLDER, aud, email: 'alice@example.com' });

  const CTI = 'sso-oidc:CreateTokenWithIAM' as const;
  const TAG = 'sts:AssumeRole (tenant tag)' as const;
  const CTX = 'sts:AssumeRole (identity context)' as const;
  const WEB = 'sts:AssumeRoleWithWebIdentity' as const;

  return [
    // First: the verifier caches an issuer's keys once it has fetched them.
    {
      id: 'cti-issuer-keys-unreachable',
      step: CTI,
      mode: 'idc',
      cause: "IdC cannot fetch the issuer's signing keys (the IdP is down)",
      claims: alice(idc.clientId),
      run: async () => {
        const assertion = await token('alice', idc.clientId);
        sb.state.switches.idpDown = true;
        try {
          return await exchange(idc.baseCredentials, {
            clientId: idc.idcApplicationArn,
            grantType: JWT_BEARER,
            assertion,
          });
        } finally {
          sb.state.switches.idpDown = false;
        }
      },
    },
    {
      id: 'web-idp-unreachable',
      step: WEB,
      mode: 'iam-federation',
      cause: "STS cannot fetch the IdP's signing keys (the IdP is down)",
      claims: alice(fed.clientId),
      run: async () => {
        const t = await token('alice', fed.clientId);
        sb.state.switches.idpDown = true;
        try {
          return await web(t);
        } finally {
          sb.state.switches.idpDown = false;
        }
      },
    },
    // sso-oidc CreateTokenWithIAM, jwt-bearer
    {
      id: 'cti-untrusted-issuer',
      step: CTI,
      mode: 'idc',
      cause: 'the IdC application has no trusted token issuer for the IdP',
      claims: alice(idc.clientId),
      run: () => jwtBearer('alice', { clientId: idcApp('apl-notrust00001') }),
    },
    {
      id: 'cti-audience-not-authorized',
      step: CTI,
      mode: 'idc',
      cause: "the token's audience is not an authorized audience of the trusted token issuer",
      claims: alice(d.clients.other),
      run: () => jwtBearer('alice', { audience: d.clients.other }),
    },
    {
      id: 'cti-unknown-user',
      step: CTI,
      mode: 'idc',
      cause: "no IdC user has the token's email",
      claims: { iss: ISSUER_PLACEHOLDER, aud: idc.clientId, email: 'mallory@example.com' },
      run: () => jwtBearer('mallory'),
    },
    {
      id: 'cti-assertion-expired',
      step: CTI,
      mode: 'idc',
      cause: 'the ID token had expired',
      claims: alice(idc.clientId),
      run: () => jwtBearer('alice', { ttlSeconds: -120 }),
    },
    {
      id: 'cti-assertion-bad-signature',
      step: CTI,
      mode: 'idc',
      cause: "the ID token's signature does not verify with the issuer's keys",
      claims: alice(idc.clientId),
      run: async () =>
        exchange(idc.baseCredentials, {
          clientId: idc.idcApplicationArn,
          grantType: JWT_BEARER,
          assertion: tamper(await token('alice', idc.clientId)),
        }),
    },
    {
      id: 'cti-assertion-reused',
      step: CTI,
      mode: 'idc',
      cause: 'the same ID token was exchanged twice (single-use assertions)',
      claims: alice(idc.clientId),
      run: async () => {
        const assertion = await token('alice', idc.clientId);
        const input = { clientId: idc.idcApplicationArn, grantType: JWT_BEARER, assertion };
        await exchange(idc.baseCredentials, input);
        return exchange(idc.baseCredentials, input);
      },
    },
    {
      id: 'cti-unknown-client',
      step: CTI,
      mode: 'idc',
      cause: 'mode.idcApplicationArn names no IdC application',
      claims: alice(idc.clientId),
      run: () => jwtBearer('alice', { clientId: `${idc.idcApplicationArn.slice(0, -4)}beef` }),
    },
    {
      id: 'cti-wrong-region',
      step: CTI,
      mode: 'idc',
      cause: 'mode.idcRegion is not the IdC instance region',
      claims: alice(idc.clientId),
      run: async () =>
        exchange(
          idc.baseCredentials,
          {
            clientId: idc.idcApplicationArn,
            grantType: JWT_BEARER,
            assertion: await token('alice', idc.clientId),
          },
          d.qRegion === d.idcRegion ? 'eu-west-1' : d.qRegion,
        ),
    },
    {
      id: 'cti-grant-not-enabled',
      step: CTI,
      mode: 'idc',
      cause: 'the IdC application does not allow the grant',
      run: () =>
        exchange(idc.baseCredentials, {
          clientId: idcApp('apl-notrust00001'),
          grantType: 'refresh_token',
          refreshToken: 'aorAAAAAGrecorder',
        }),
    },
    {
      id: 'cti-other-account',
      step: CTI,
      mode: 'idc',
      cause: "signed with credentials of an account other than the IdC application's",
      claims: alice(idc.clientId),
      run: async () =>
        exchange(da.baseCredentials, {
          clientId: idc.idcApplicationArn,
          grantType: JWT_BEARER,
          assertion: await token('alice', idc.clientId),
        }),
    },
    // sso-oidc, data accessor (signed with the ISV's tenant-tagged session)
    {
      id: 'cti-da-untagged-caller',
      step: CTI,
      mode: 'data-accessor',
      cause: "signed with the ISV's base keys instead of a tenant-tagged role session",
      claims: alice(da.clientId),
      run: () => daExchange(da.baseCredentials),
    },
    {
      id: 'cti-da-missing-tenant-tag',
      step: CTI,
      mode: 'data-accessor',
      cause: 'a role session of the ISV account without the ExternalId session tag',
      claims: alice(da.clientId),
      run: async () =>
        daExchange(
          await assume(da.baseCredentials, {
            RoleArn: role('IsvNoTagSessionRole'),
            RoleSessionName: 'qindex-mcp-recorder',
          }),
        ),
    },
    {
      id: 'cti-da-wrong-tenant',
      step: CTI,
      mode: 'data-accessor',
      cause: "the session's ExternalId tag is not the data accessor's tenant id",
      claims: alice(da.clientId),
      run: async () => daExchange(await tagged('tenant-wrong')),
    },
    {
      id: 'cti-da-auth-code-invalid',
      step: CTI,
      mode: 'data-accessor auth-code',
      cause: 'an authorization code IdC does not know (expired or already used)',
      run: async () =>
        daExchange(await tagged(da.tenantId), {
          grantType: 'authorization_code',
          code: 'recorder-unknown-code',
          redirectUri: 'http://127.0.0.1:8765/callback',
          codeVerifier: 'recorder-code-verifier-0000000000000000000000',
          assertion: undefined,
        }),
    },
    {
      id: 'cti-da-refresh-token-invalid',
      step: CTI,
      mode: 'data-accessor auth-code',
      cause: 'an IdC refresh token IdC does not know (expired or revoked)',
      run: async () =>
        daExchange(await tagged(da.tenantId), {
          grantType: 'refresh_token',
          refreshToken: 'aorAAAAAGrecorder-unknown',
          assertion: undefined,
        }),
    },
    // sso-oidc: signing and faults
    {
      id: 'cti-throttled',
      step: CTI,
      mode: 'idc',
      cause: 'armed fault: throttle',
      claims: alice(idc.clientId),
      run: () => (arm('sso-oauth:CreateTokenWithIAM', { throttle: 1 }), jwtBearer('alice')),
    },
    {
      id: 'cti-server-error',
      step: CTI,
      mode: 'idc',
      cause: 'armed fault: serverError',
      claims: alice(idc.clientId),
      run: () => (arm('sso-oauth:CreateTokenWithIAM', { serverError: 1 }), jwtBearer('alice')),
    },
    {
      id: 'cti-wrong-secret-key',
      step: CTI,
      mode: 'idc',
      cause: "the app's secret access key is wrong",
      claims: alice(idc.clientId),
      run: async () =>
        exchange(
          { accessKeyId: idc.baseCredentials.accessKeyId, secretAccessKey: 'recorder-wrong-secret' },
          {
            clientId: idc.idcApplicationArn,
            grantType: JWT_BEARER,
            assertion: await token('alice', idc.clientId),
          },
        ),
    },
    {
      id: 'cti-unknown-access-key',
      step: CTI,
      mode: 'idc',
      cause: 'an access key AWS does not know',
      claims: alice(idc.clientId),
      run: async () =>
        exchange(
          { accessKeyId: 'AKIARECORDERUNKNOWN0', secretAccessKey: 'recorder-secret' },
          {
            clientId: idc.idcApplicationArn,
            grantType: JWT_BEARER,
            assertion: await token('alice', idc.clientId),
          },
        ),
    },
    {
      id: 'cti-expired-session',
      step: CTI,
      mode: 'data-accessor',
      cause: 'signed with a role session that has expired',
      claims: alice(da.clientId),
      run: async () => {
        const session = await tagged(da.tenantId);
        expireAllSessions(sb.state);
        return daExchange(session);
      },
    },
    // STS AssumeRole
    {
      id: 'sts-no-set-context',
      step: CTX,
      mode: 'idc',
      cause: "the role's trust policy lacks sts:SetContext",
      run: () => withContext(role('QIndexMcpNoSetContextRole'), context(new Date(Date.now() + 600_000))),
    },
    {
      id: 'sts-context-expired',
      step: CTX,
      mode: 'idc',
      cause: 'the identity context had expired',
      run: () => withContext(idc.roleArn, context(new Date(Date.now() - 1000))),
    },
    {
      id: 'sts-context-invalid',
      step: CTX,
      mode: 'idc',
      cause: 'the identity context does not verify',
      run: () => withContext(idc.roleArn, tamper(context(new Date(Date.now() + 600_000)))),
    },
    {
      id: 'sts-untrusted-account',
      step: TAG,
      mode: 'data-accessor',
      cause: "the role does not trust the caller's account",
      run: () =>
        assume(idc.baseCredentials, {
          RoleArn: da.roleArn,
          RoleSessionName: 'qindex-mcp-recorder',
          Tags: [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: da.tenantId }],
        }),
    },
    {
      id: 'sts-no-tag-session',
      step: TAG,
      mode: 'data-accessor',
      cause: "the role's trust policy lacks sts:TagSession",
      run: () =>
        assume(da.baseCredentials, {
          RoleArn: role('IsvNoTagSessionRole'),
          RoleSessionName: 'qindex-mcp-recorder',
          Tags: [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: da.tenantId }],
        }),
    },
    {
      id: 'sts-duration-over-role-maximum',
      step: CTX,
      mode: 'idc',
      cause: "mode.sessionDurationSeconds exceeds the role's MaxSessionDuration",
      run: () =>
        sts(idc.baseCredentials).send(
          new AssumeRoleCommand({
            RoleArn: idc.roleArn,
            RoleSessionName: 'qindex-mcp-recorder',
            DurationSeconds: 7200,
            ProvidedContexts: [
              {
                ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER,
                ContextAssertion: context(new Date(Date.now() + 600_000)),
              },
            ],
          }),
        ),
    },
    {
      id: 'sts-throttled',
      step: CTX,
      mode: 'idc',
      cause: 'armed fault: throttle',
      run: () => (
        arm('sts:AssumeRole', { throttle: 1 }),
        withContext(idc.roleArn, context(new Date(Date.now() + 600_000)))
      ),
    },
    {
      id: 'sts-server-error',
      step: CTX,
      mode: 'idc',
      cause: 'armed fault: serverError',
      run: () => (
        arm('sts:AssumeRole', { serverError: 1 }),
        withContext(idc.roleArn, context(new Date(Date.now() + 600_000)))
      ),
    },
    {
      id: 'sts-wrong-secret-key',
      step: TAG,
      mode: 'data-accessor',
      cause: "the ISV's secret access key is wrong",
      run: () =>
        assume(
          { accessKeyId: da.baseCredentials.accessKeyId, secretAccessKey: 'recorder-wrong-secret' },
          { RoleArn: da.roleArn, RoleSessionName: 'qindex-mcp-recorder' },
        ),
    },
    {
      id: 'sts-unknown-access-key',
      step: TAG,
      mode: 'data-accessor',
      cause: 'an access key AWS does not know',
      run: () =>
        assume(
          { accessKeyId: 'AKIARECORDERUNKNOWN0', secretAccessKey: 'recorder-secret' },
          { RoleArn: da.roleArn, RoleSessionName: 'qindex-mcp-recorder' },
        ),
    },
    {
      id: 'sts-expired-session',
      step: TAG,
      mode: 'data-accessor',
      cause: 'base credentials that are a role session which has expired (e.g. from aws sso login)',
      run: async () => {
        const session = await tagged(da.tenantId);
        expireAllSessions(sb.state);
        return assume(session, { RoleArn: da.roleArn, RoleSessionName: 'qindex-mcp-recorder' });
      },
    },
    // STS AssumeRoleWithWebIdentity
    {
      id: 'web-untrusted-issuer',
      step: WEB,
      mode: 'iam-federation',
      cause: 'the account has no IAM OIDC provider for the token issuer',
      claims: { iss: 'https://idp.elsewhere.example', aud: fed.clientId, email: 'alice@example.com' },
      run: async () => {
        const { privateKey } = await generateKeyPair('RS256');
        const foreign = await new SignJWT({ email: 'alice@example.com' })
          .setProtectedHeader({ alg: 'RS256' })
          .setIssuer('https://idp.elsewhere.example')
          .setAudience(fed.clientId)
          .setSubject('00000000-0000-4000-8000-000000000001')
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(privateKey);
        return web(foreign);
      },
    },
    {
      id: 'web-audience',
      step: WEB,
      mode: 'iam-federation',
      cause: "the token's audience is not a client id of the OIDC provider",
      claims: alice(d.clients.other),
      run: async () => web(await token('alice', d.clients.other)),
    },
    {
      id: 'web-token-expired',
      step: WEB,
      mode: 'iam-federation',
      cause: 'the ID token had expired',
      claims: alice(fed.clientId),
      run: async () => web(await token('alice', fed.clientId, { ttlSeconds: -120 })),
    },
    {
      id: 'web-no-email-tag',
      step: WEB,
      mode: 'iam-federation',
      cause: 'the ID token lacks the Email principal tag',
      claims: alice(fed.clientId),
      run: async () =>
        web(await token('alice', fed.clientId, { claims: { 'https://aws.amazon.com/tags': undefined } })),
    },
    {
      id: 'web-role-untrusted',
      step: WEB,
      mode: 'iam-federation',
      cause: 'the role does not trust web identities',
      claims: alice(fed.clientId),
      run: async () => web(await token('alice', fed.clientId), idc.roleArn),
    },
    {
      id: 'web-bad-signature',
      step: WEB,
      mode: 'iam-federation',
      cause: "the ID token's signature does not verify",
      claims: alice(fed.clientId),
      run: async () => web(tamper(await token('alice', fed.clientId))),
    },
    {
      id: 'web-throttled',
      step: WEB,
      mode: 'iam-federation',
      cause: 'armed fault: throttle',
      claims: alice(fed.clientId),
      run: async () => (
        arm('sts:AssumeRoleWithWebIdentity', { throttle: 1 }),
        web(await token('alice', fed.clientId))
      ),
    },
    // Below HTTP: what the SDK itself throws
    {
      id: 'sdk-connection-refused',
      step: TAG,
      mode: 'data-accessor',
      cause: 'aws.endpoint points where nothing listens',
      run: () =>
        sts(da.baseCredentials, CLOSED_ENDPOINT).send(
          new AssumeRoleCommand({ RoleArn: da.roleArn, RoleSessionName: 'qindex-mcp-recorder' }),
        ),
    },
    {
      id: 'sdk-no-credentials',
      step: CTI,
      mode: 'idc',
      cause: 'the default credential chain finds no credentials',
      run: () => withoutAwsEnvironment(() => jwtBearerWith(fromNodeProviderChain())),
    },
  ];

  async function jwtBearerWith(credentials: () => Promise<AwsCredentialIdentity>) {
    return exchange(credentials, {
      clientId: idc.idcApplicationArn,
      grantType: JWT_BEARER,
      assertion: await token('alice', idc.clientId),
    });
  }
}

/** Runs `fn` with no AWS settings in the environment, so the default chain finds nothing. */
async function withoutAwsEnvironment<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  Object.assign(process.env, {
    AWS_CONFIG_FILE: '/nonexistent/qindex-recorder/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/qindex-recorder/credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

/** The fixture file's text, formatted as the repository's prettier would. */
export async function fixtureText(recorded: RecordedAwsError[]): Promise<string> {
  const options = (await prettier.resolveConfig(FIXTURE_PATH)) ?? {};
  return prettier.format(JSON.stringify(recorded), { ...options, parser: 'json' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sb = await startSandbox();
  try {
    const recorded = await recordAwsErrors(sb);
    await writeFile(FIXTURE_PATH, await fixtureText(recorded));
    process.stderr.write(`wrote ${recorded.length} error shapes to ${FIXTURE_PATH}\n`);
  } finally {
    await sb.stop();
  }
}
