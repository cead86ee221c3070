/**
 * @module The sandbox's description: the one JSON line `npm run sandbox` prints and `startSandbox`
 * returns. Names every endpoint and hands a ready configuration for each identity mode.
 */
import type { World } from './world.js';

export interface ModeBase {
  issuer: string;
  clientId: string;
  awsEndpoint: string;
  qRegion: string;
  applicationId: string;
  retrieverId: string;
  indexId: string;
  /** Base credentials of the app/ISV account (what the default provider chain would find). */
  baseCredentials: { accessKeyId: string; secretAccessKey: string };
}

export interface SandboxDescription {
  issuer: string;
  control: string;
  awsEndpoint: string;
  idcRegion: string;
  qRegion: string;
  clients: World['clients'];
  mcpResource: string;
  /**
   * The Cognito-like user pool: the ISV's confidential app client (the data accessor's TTI authorizes it
   * alone), the tenant attribute, and a data-accessor mode per tenant claim value signing in through it.
   */
  cognito: {
    issuer: string;
    clientId: string;
    clientSecret: string;
    tenantClaim: string;
    tenants: Record<string, SandboxDescription['modes']['dataAccessor']>;
  };
  users: Array<{
    username: string;
    password: string;
    email: string;
    groups: string[];
    inIdentityCenter: boolean;
    /** The tenant claim value the Cognito-like pool gives the user. */
    tenant: string;
  }>;
  modes: {
    idc: ModeBase & { idcRegion: string; idcApplicationArn: string; roleArn: string };
    dataAccessor: ModeBase & {
      idcRegion: string;
      idcApplicationArn: string;
      roleArn: string;
      tenantId: string;
      dataAccessorId: string;
    };
    /** Every tenant of the ISV (the first is `dataAccessor`). */
    dataAccessorTenants: Array<SandboxDescription['modes']['dataAccessor']>;
    iamFederation: ModeBase & { roleArn: string };
  };
}

export function describe(world: World, urls: { control: string; awsEndpoint: string }): SandboxDescription {
  const q = (id: string) => {
    const app = world.qApplications.find((a) => a.applicationId === id);
    if (!app) throw new Error(`world has no Q application ${id}`);
    return { applicationId: app.applicationId, retrieverId: app.retrieverId, indexId: app.indexId };
  };
  const creds = (c: { accessKeyId: string; secretAccessKey: string }) => ({
    accessKeyId: c.accessKeyId,
    secretAccessKey: c.secretAccessKey,
  });
  const common = { issuer: world.issuer, awsEndpoint: urls.awsEndpoint, qRegion: world.qRegion };
  const role = (name: string) => {
    const r = world.roles.find((x) => x.name === name);
    if (!r) throw new Error(`world has no role ${name}`);
    return r.arn;
  };
  const idcApp = world.idcApplications[0]!;
  const tenants = world.dataAccessors.map((da) => ({
    ...common,
    clientId: world.clients.isv,
    ...q(da.qApplicationId),
    baseCredentials: creds(world.baseCredentials.isv),
    idcRegion: world.idcRegion,
    idcApplicationArn: da.idcApplicationArn,
    roleArn: role('IsvDataAccessorRole'),
    tenantId: da.tenantId,
    dataAccessorId: da.dataAccessorId,
  }));
  const fed = world.qApplications.find((a) => a.identityType === 'AWS_IAM_IDP_OIDC')!;
  return {
    issuer: world.issuer,
    control: urls.control,
    awsEndpoint: urls.awsEndpoint,
    idcRegion: world.idcRegion,
    qRegion: world.qRegion,
    clients: world.clients,
    mcpResource: world.mcpResource,
    cognito: {
      issuer: world.cognito.issuer,
      clientId: world.cognito.clientId,
      clientSecret: world.cognito.clientSecret,
      tenantClaim: world.cognito.tenantClaim,
      tenants: Object.fromEntries(
        Object.entries(world.cognito.tenants).map(([claim, tenantId]) => {
          const t = tenants.find((x) => x.tenantId === tenantId)!;
          return [claim, { ...t, issuer: world.cognito.issuer, clientId: world.cognito.clientId }];
        }),
      ),
    },
    users: world.users.map(({ username, password, email, groups, inIdentityCenter, tenant }) => ({
      username,
      password,
      email,
      groups,
      inIdentityCenter,
      tenant,
    })),
    modes: {
      idc: {
        ...common,
        clientId: world.clients.native,
        ...q(idcApp.qApplicationId),
        baseCredentials: creds(world.baseCredentials.app),
        idcRegion: world.idcRegion,
        idcApplicationArn: idcApp.arn,
        roleArn: role('QIndexMcpIdcRole'),
      },
      dataAccessor: tenants[0]!,
      dataAccessorTenants: tenants,
      iamFederation: {
        ...common,
        clientId: world.clients.native,
        ...q(fed.applicationId),
        baseCredentials: creds(world.baseCredentials.app),
        roleArn: role('QIndexMcpWebIdentityRole'),
      },
    },
  };
}
