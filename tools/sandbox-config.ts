/**
 * @module A plain qindex-mcp configuration for the running sandbox, per identity mode: what
 * `npm start` writes to disk and `npm run demo` hands to the server. The product never knows it is a sandbox.
 */
import type { SandboxDescription } from './sandbox/description.js';

export type Mode = 'idc' | 'data-accessor' | 'iam-federation';

/** The `http.tenants` of a connector in front of the Cognito-like pool: each tenant claim value's Q application. */
export function poolTenants(d: SandboxDescription) {
  return Object.fromEntries(
    Object.entries(d.cognito.tenants).map(([claim, t]) => [
      claim,
      {
        tenantId: t.tenantId,
        idcApplicationArn: t.idcApplicationArn,
        applicationId: t.applicationId,
        retrieverId: t.retrieverId,
      },
    ]),
  );
}

export function sandboxConfig(d: SandboxDescription, mode: Mode) {
  const m =
    mode === 'idc' ? d.modes.idc : mode === 'data-accessor' ? d.modes.dataAccessor : d.modes.iamFederation;
  const modeSection =
    mode === 'idc'
      ? {
          type: 'idc',
          idcRegion: d.modes.idc.idcRegion,
          idcApplicationArn: d.modes.idc.idcApplicationArn,
          roleArn: d.modes.idc.roleArn,
        }
      : mode === 'data-accessor'
        ? {
            type: 'data-accessor',
            grant: 'tti',
            idcRegion: d.modes.dataAccessor.idcRegion,
            idcApplicationArn: d.modes.dataAccessor.idcApplicationArn,
            roleArn: d.modes.dataAccessor.roleArn,
            tenantId: d.modes.dataAccessor.tenantId,
          }
        : { type: 'iam-federation', roleArn: d.modes.iamFederation.roleArn };
  return {
    profile: mode === 'idc' ? 'sandbox' : `sandbox-${mode}`,
    idp: { issuer: m.issuer, clientId: m.clientId },
    mode: modeSection,
    q: { region: m.qRegion, applicationId: m.applicationId, retrieverId: m.retrieverId, indexId: m.indexId },
    aws: { endpoint: m.awsEndpoint },
    logging: { level: 'info' },
  };
}
