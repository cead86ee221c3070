/**
 * @module Test helper: identity-aware AWS credentials for a sandbox user, obtained the way the product
 * does it (sso-oidc CreateTokenWithIAM, STS AssumeRole with ProvidedContexts / the ExternalId tag,
 * AssumeRoleWithWebIdentity) with the unmodified SDK clients, and a QBusinessClient over them.
 */
import { AssumeRoleCommand, AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { QBusinessClient } from '@aws-sdk/client-qbusiness';
import type { AwsCredentialIdentity } from '@smithy/types';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { SandboxDescription } from '../../tools/sandbox/description.js';

/** Only the description is needed: works for an in-process sandbox and one started by `npm run sandbox`. */
type SandboxLike = { description: SandboxDescription };
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  IDENTITY_CENTER_CONTEXT_PROVIDER,
} from '../../tools/sandbox/world.js';

export type CredentialMode = 'idc' | 'data-accessor' | 'iam-federation';

export interface UserSession {
  credentials: AwsCredentialIdentity;
  applicationId: string;
  retrieverId: string;
  indexId: string;
  q: QBusinessClient;
}

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The `sts:identity_context` claim of the IdC token (decoded without verification, as the product does). */
function identityContextOf(idToken: string): string {
  const payload = JSON.parse(
    Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8'),
  ) as Record<string, unknown>;
  const ctx = payload['sts:identity_context'];
  if (typeof ctx !== 'string') throw new Error('the IdC token has no sts:identity_context claim');
  return ctx;
}

const toIdentity = (c: {
  AccessKeyId?: string;
  SecretAccessKey?: string;
  SessionToken?: string;
  Expiration?: Date;
}): AwsCredentialIdentity => ({
  accessKeyId: c.AccessKeyId!,
  secretAccessKey: c.SecretAccessKey!,
  sessionToken: c.SessionToken,
  expiration: c.Expiration,
});

/** A Q client on the sandbox endpoint; only `endpoint` (and the region) differ from production use. */
export function qClient(sandbox: SandboxLike, credentials: AwsCredentialIdentity): QBusinessClient {
  return new QBusinessClient({
    endpoint: sandbox.description.awsEndpoint,
    region: sandbox.description.qRegion,
    credentials,
    maxAttempts: 1,
  });
}

/** Identity-aware credentials for `username` in `mode` (`tenant` picks a data-accessor tenant). */
export async function sessionFor(
  sandbox: SandboxLike,
  username: string,
  mode: CredentialMode,
  tenant = 0,
): Promise<UserSession> {
  const d = sandbox.description;
  const control = controlClient(d.control);
  const endpoint = d.awsEndpoint;
  const sessionName = `${username}-${Date.now()}`;

  if (mode === 'iam-federation') {
    const m = d.modes.iamFederation;
    const token = await control.mintIdToken({ username, audience: m.clientId });
    const sts = new STSClient({ endpoint, region: m.qRegion, credentials: m.baseCredentials });
    const out = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: m.roleArn,
        RoleSessionName: sessionName,
        WebIdentityToken: token,
      }),
    );
    const credentials = toIdentity(out.Credentials!);
    return { credentials, ...ids(m), q: qClient(sandbox, credentials) };
  }

  const m = mode === 'idc' ? d.modes.idc : d.modes.dataAccessorTenants[tenant]!;
  const tags =
    mode === 'data-accessor'
      ? [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: d.modes.dataAccessorTenants[tenant]!.tenantId }]
      : undefined;
  const sts = new STSClient({ endpoint, region: m.idcRegion, credentials: m.baseCredentials });
  // Data accessor: CreateTokenWithIAM is signed with the ISV role's tagged session (design 2b step 2).
  let oidcCredentials: AwsCredentialIdentity = m.baseCredentials;
  if (tags) {
    const first = await sts.send(
      new AssumeRoleCommand({ RoleArn: m.roleArn, RoleSessionName: sessionName, Tags: tags }),
    );
    oidcCredentials = toIdentity(first.Credentials!);
  }
  const assertion = await control.mintIdToken({ username, audience: m.clientId });
  const oidc = new SSOOIDCClient({ endpoint, region: m.idcRegion, credentials: oidcCredentials });
  const token = await oidc.send(
    new CreateTokenWithIAMCommand({ clientId: m.idcApplicationArn, grantType: JWT_BEARER, assertion }),
  );
  const context = identityContextOf(token.idToken!);
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: m.roleArn,
      RoleSessionName: sessionName,
      ProvidedContexts: [{ ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: context }],
      Tags: tags,
    }),
  );
  const credentials = toIdentity(out.Credentials!);
  return { credentials, ...ids(m), q: qClient(sandbox, credentials) };
}

const ids = (m: { applicationId: string; retrieverId: string; indexId: string }) => ({
  applicationId: m.applicationId,
  retrieverId: m.retrieverId,
  indexId: m.indexId,
});

/** The app account's (or ISV's) plain IAM keys: no user identity at all. */
export function plainIamClient(sandbox: SandboxLike, mode: 'idc' | 'data-accessor' = 'idc'): QBusinessClient {
  const m = mode === 'idc' ? sandbox.description.modes.idc : sandbox.description.modes.dataAccessor;
  return qClient(sandbox, m.baseCredentials);
}
