/**
 * @module The sandbox's fixed world: users, accounts, IdC applications, roles, Q applications and
 * tenants. Plain data, built once per sandbox from the issuer URL; every service reads it, none changes it.
 */

export interface SandboxUser {
  /** Login name at the sandbox IdP; the OIDC `sub` is a UUID derived from it (`subjectOf`, idp/claims.ts). */
  username: string;
  password: string;
  email: string;
  name: string;
  groups: string[];
  /** False for users the IdP knows but the IdC user directory does not (email mismatch). */
  inIdentityCenter: boolean;
  /** The ISV tenant (a key of the data-accessor tenants) the Cognito-like pool puts in `custom:tenant`. */
  tenant: string;
}

export interface TrustedTokenIssuer {
  issuerUrl: string;
  authorizedAudiences: string[];
}

export interface IdcApplication {
  arn: string;
  /** Which Q application this IdC application fronts. */
  qApplicationId: string;
  trustedTokenIssuers: TrustedTokenIssuer[];
  /** Grants enabled on the application (jwt-bearer, authorization_code, refresh_token). */
  grants: Array<'urn:ietf:params:oauth:grant-type:jwt-bearer' | 'authorization_code' | 'refresh_token'>;
  /** Redirect URIs registered for the authorization_code grant; `loopback:any` matches any 127.0.0.1 port. */
  redirectUris: string[];
}

export interface RoleTrust {
  /** Accounts whose principals may call AssumeRole. */
  principalAccounts: string[];
  /** For AssumeRoleWithWebIdentity: the OIDC issuer and audiences the role trusts. */
  webIdentity?: { issuerUrl: string; audiences: string[] };
  actions: Array<
    | 'sts:AssumeRole'
    | 'sts:AssumeRoleWithWebIdentity'
    | 'sts:SetContext'
    | 'sts:TagSession'
    | 'sts:SetSourceIdentity'
  >;
  /** Session tags the caller must send (data-accessor roles demand the ExternalId tag). */
  requiredTagKeys?: string[];
}

export interface Role {
  arn: string;
  accountId: string;
  name: string;
  trust: RoleTrust;
  maxSessionDuration: number;
}

export interface QApplication {
  applicationId: string;
  accountId: string;
  region: string;
  identityType: 'AWS_IAM_IDC' | 'AWS_IAM_IDP_OIDC';
  indexId: string;
  retrieverId: string;
}

export interface DataAccessor {
  dataAccessorId: string;
  /** IdC application ARN created for the data accessor. */
  idcApplicationArn: string;
  /** ISV account the data accessor was granted to. */
  principalAccountId: string;
  tenantId: string;
  qApplicationId: string;
  actions: string[];
}

export interface BaseCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  accountId: string;
  /** IAM user ARN these keys belong to. */
  arn: string;
}

export interface CognitoPool {
  issuer: string;
  /** The app client the ISV registered with AWS (the data accessor's TTI authorizes it alone). */
  clientId: string;
  clientSecret: string;
  /** The custom attribute naming the user's tenant, as Cognito spells custom attributes. */
  tenantClaim: string;
  /** Tenant claim value → the data accessor's tenant id. */
  tenants: Record<string, string>;
}

export interface World {
  issuer: string;
  idcRegion: string;
  qRegion: string;
  users: SandboxUser[];
  clients: {
    /** Public native client used by qindex-mcp in idc and iam-federation modes. */
    native: string;
    /** Confidential client the IdC emulator uses to send browsers through the IdP (2c). */
    idcBroker: string;
    /** The ISV's public client, authorized by the data accessor's TTI. */
    isv: string;
    /** A client no IdC application authorizes (for "audience not authorized"). */
    other: string;
  };
  /** Resource indicator for JWT access tokens (the HTTP transport's audience). */
  mcpResource: string;
  /** The second IdP personality: an Amazon Cognito user pool with the ISV's confidential app client. */
  cognito: CognitoPool;
  accounts: { app: string; customer: string; isv: string };
  baseCredentials: { app: BaseCredentials; isv: BaseCredentials };
  idcApplications: IdcApplication[];
  roles: Role[];
  qApplications: QApplication[];
  dataAccessors: DataAccessor[];
}

export const IDENTITY_CENTER_CONTEXT_PROVIDER = 'arn:aws:iam::aws:contextProvider/IdentityCenter';
export const DATA_ACCESSOR_EXTERNAL_ID_TAG = 'qbusiness-dataaccessor:ExternalId';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const user = (
  username: string,
  name: string,
  groups: string[],
  tenant: string,
  inIdentityCenter = true,
): SandboxUser => ({
  username,
  password: `${username}-pw`,
  email: `${username}@example.com`,
  name,
  groups,
  inIdentityCenter,
  tenant,
});

/**
 * Builds the world for an IdP at `issuer` (and the Cognito-like pool at `cognitoIssuer`). Account ids, ARNs,
 * keys and the pool's client are fixed so docs can name them.
 */
export function createWorld(issuer: string, cognitoIssuer = `${issuer}/cognito-not-started`): World {
  const accounts = { app: '111111111111', customer: '222222222222', isv: '333333333333' };
  const clients = {
    native: 'qindex-mcp',
    isv: 'isv-agent',
    other: 'unrelated-app',
    idcBroker: 'aws-identity-center',
  };
  // The HTTP transport's resource: its bearer tokens (aud = this) are the assertions it exchanges, so the
  // IdC applications' trusted token issuers authorize it as an audience too.
  const mcpResource = 'https://mcp.sandbox.example/mcp';
  const idcRegion = 'us-west-2';
  const qRegion = 'us-east-1';
  const instance = 'ssoins-7223sandbox0001';
  const tti = (audiences: string[]): TrustedTokenIssuer[] => [
    { issuerUrl: issuer, authorizedAudiences: audiences },
  ];
  // Cognito app client ids are 26 characters; the secret is what the ISV's server holds.
  const cognito: CognitoPool = {
    issuer: cognitoIssuer,
    clientId: 'sandboxcognitoclient000001',
    clientSecret: 'sandbox-cognito-client-secret-0000000000000000000000',
    tenantClaim: 'custom:tenant',
    tenants: { acme: 'tenant-acme', globex: 'tenant-globex' },
  };
  // As AWS creates a data accessor's TTI from the ISV's registration: that issuer, that client id only.
  const cognitoTti: TrustedTokenIssuer = {
    issuerUrl: cognitoIssuer,
    authorizedAudiences: [cognito.clientId],
  };
  const roleArn = (account: string, name: string) => `arn:aws:iam::${account}:role/${name}`;
  const role = (account: string, name: string, trust: RoleTrust): Role => ({
    arn: roleArn(account, name),
    accountId: account,
    name,
    trust,
    maxSessionDuration: 3600,
  });
  return {
    issuer,
    idcRegion,
    qRegion,
    users: [
      user('alice', 'Alice Anders', ['engineering', 'all-employees'], 'acme'),
      user('bob', 'Bob Berg', ['finance', 'managers', 'all-employees'], 'acme'),
      user('carol', 'Carol Chen', ['hr', 'managers', 'all-employees'], 'acme'),
      user('dave', 'Dave Diaz', ['sales', 'all-employees'], 'globex'),
      user('erin', 'Erin Eze', ['contractors'], 'globex'),
      // Known to the IdP, but no such user in IAM Identity Center: the email-mismatch failure.
      user('mallory', 'Mallory Moss', ['all-employees'], 'acme', false),
    ],
    clients,
    mcpResource,
    cognito,
    accounts,
    baseCredentials: {
      app: {
        accessKeyId: 'AKIASANDBOXAPP000001',
        secretAccessKey: 'sandbox/app/secret/key/0000000000000000000',
        accountId: accounts.app,
        arn: `arn:aws:iam::${accounts.app}:user/qindex-mcp-app`,
      },
      isv: {
        accessKeyId: 'AKIASANDBOXISV000001',
        secretAccessKey: 'sandbox/isv/secret/key/0000000000000000000',
        accountId: accounts.isv,
        arn: `arn:aws:iam::${accounts.isv}:user/isv-backend`,
      },
    },
    idcApplications: [
      {
        arn: `arn:aws:sso::${accounts.app}:application/${instance}/apl-qindexmcp0001`,
        qApplicationId: 'a1b2c3d4-5678-90ab-cdef-111111111111',
        trustedTokenIssuers: tti([clients.native, mcpResource]),
        grants: [JWT_BEARER, 'refresh_token'],
        redirectUris: [],
      },
      // Same Q app, but no trusted token issuer for our IdP: "issuer not trusted".
      {
        arn: `arn:aws:sso::${accounts.app}:application/${instance}/apl-notrust00001`,
        qApplicationId: 'a1b2c3d4-5678-90ab-cdef-111111111111',
        trustedTokenIssuers: [
          { issuerUrl: 'https://idp.elsewhere.example', authorizedAudiences: [clients.native] },
        ],
        grants: [JWT_BEARER],
        redirectUris: [],
      },
      {
        arn: `arn:aws:sso::${accounts.customer}:application/${instance}/apl-dataaccess01`,
        qApplicationId: 'c0ffee00-0000-4000-8000-00000000000a',
        trustedTokenIssuers: [...tti([clients.isv, mcpResource]), cognitoTti],
        grants: [JWT_BEARER, 'authorization_code', 'refresh_token'],
        redirectUris: ['loopback:any'],
      },
      {
        arn: `arn:aws:sso::${accounts.customer}:application/${instance}/apl-dataaccess02`,
        qApplicationId: 'c0ffee00-0000-4000-8000-00000000000b',
        trustedTokenIssuers: [...tti([clients.isv, mcpResource]), cognitoTti],
        grants: [JWT_BEARER, 'authorization_code', 'refresh_token'],
        redirectUris: ['loopback:any'],
      },
    ],
    roles: [
      role(accounts.app, 'QIndexMcpIdcRole', {
        principalAccounts: [accounts.app],
        actions: ['sts:AssumeRole', 'sts:SetContext', 'sts:SetSourceIdentity'],
      }),
      role(accounts.app, 'QIndexMcpNoSetContextRole', {
        principalAccounts: [accounts.app],
        actions: ['sts:AssumeRole'],
      }),
      role(accounts.isv, 'IsvDataAccessorRole', {
        principalAccounts: [accounts.isv],
        actions: ['sts:AssumeRole', 'sts:SetContext', 'sts:TagSession'],
        requiredTagKeys: [DATA_ACCESSOR_EXTERNAL_ID_TAG],
      }),
      role(accounts.isv, 'IsvNoTagSessionRole', {
        principalAccounts: [accounts.isv],
        actions: ['sts:AssumeRole', 'sts:SetContext'],
      }),
      role(accounts.app, 'QIndexMcpWebIdentityRole', {
        principalAccounts: [],
        webIdentity: { issuerUrl: issuer, audiences: [clients.native] },
        actions: ['sts:AssumeRoleWithWebIdentity', 'sts:TagSession', 'sts:SetSourceIdentity'],
      }),
    ],
    qApplications: [
      {
        applicationId: 'a1b2c3d4-5678-90ab-cdef-111111111111',
        accountId: accounts.app,
        region: qRegion,
        identityType: 'AWS_IAM_IDC',
        indexId: 'idx00000-0000-4000-8000-000000000001',
        retrieverId: 'ret00000-0000-4000-8000-000000000001',
      },
      {
        applicationId: 'f3d3f3d3-0000-4000-8000-0000000000f1',
        accountId: accounts.app,
        region: qRegion,
        identityType: 'AWS_IAM_IDP_OIDC',
        indexId: 'idx00000-0000-4000-8000-0000000000f1',
        retrieverId: 'ret00000-0000-4000-8000-0000000000f1',
      },
      {
        applicationId: 'c0ffee00-0000-4000-8000-00000000000a',
        accountId: accounts.customer,
        region: qRegion,
        identityType: 'AWS_IAM_IDC',
        indexId: 'idx00000-0000-4000-8000-00000000000a',
        retrieverId: 'ret00000-0000-4000-8000-00000000000a',
      },
      {
        applicationId: 'c0ffee00-0000-4000-8000-00000000000b',
        accountId: accounts.customer,
        region: qRegion,
        identityType: 'AWS_IAM_IDC',
        indexId: 'idx00000-0000-4000-8000-00000000000b',
        retrieverId: 'ret00000-0000-4000-8000-00000000000b',
      },
    ],
    dataAccessors: [
      {
        dataAccessorId: 'da000000-0000-4000-8000-00000000000a',
        idcApplicationArn: `arn:aws:sso::${accounts.customer}:application/${instance}/apl-dataaccess01`,
        principalAccountId: accounts.isv,
        tenantId: 'tenant-acme',
        qApplicationId: 'c0ffee00-0000-4000-8000-00000000000a',
        actions: ['qbusiness:SearchRelevantContent'],
      },
      {
        dataAccessorId: 'da000000-0000-4000-8000-00000000000b',
        idcApplicationArn: `arn:aws:sso::${accounts.customer}:application/${instance}/apl-dataaccess02`,
        principalAccountId: accounts.isv,
        tenantId: 'tenant-globex',
        qApplicationId: 'c0ffee00-0000-4000-8000-00000000000b',
        actions: ['qbusiness:SearchRelevantContent'],
      },
    ],
  };
}

export const findUserByEmail = (world: World, email: string) =>
  world.users.find((u) => u.email.toLowerCase() === email.toLowerCase());
export const findUser = (world: World, username: string) => world.users.find((u) => u.username === username);
export const findRole = (world: World, arn: string) => world.roles.find((r) => r.arn === arn);
export const findIdcApplication = (world: World, arn: string) =>
  world.idcApplications.find((a) => a.arn === arn);
export const findQApplication = (world: World, id: string) =>
  world.qApplications.find((a) => a.applicationId === id);
export const findDataAccessorByIdcApp = (world: World, arn: string) =>
  world.dataAccessors.find((d) => d.idcApplicationArn === arn);
