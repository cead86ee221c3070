/**
 * @module Who may call the Q data plane: identity-aware sessions whose identity fits the
 * application's identity type (IdC / data accessor for AWS_IAM_IDC, an Email-tagged web identity for
 * AWS_IAM_IDP_OIDC), data accessors only for their granted actions and their own tenant.
 */
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  findQApplication,
  type QApplication,
  type World,
} from '../../world.js';
import type { Caller, SigningScope } from '../types.js';
import type { Principal } from './engine.js';
import { accessDenied, notFound } from './errors.js';

export interface Access {
  app: QApplication;
  principal: Principal;
  /** Owner key for conversations: identity kind and user id. */
  owner: string;
  kind: 'idc' | 'data-accessor' | 'iam-federation';
}

/** Resolves the caller for `qbusiness:<action>` on `applicationId`, or throws the error AWS would send. */
export function authorize(
  world: World,
  caller: Caller,
  scope: SigningScope | undefined,
  action: string,
  applicationId: string,
): Access {
  const known = findQApplication(world, applicationId);
  const denied = (why: string) =>
    accessDenied(
      `User is not authorized to perform: qbusiness:${action} on resource: ${arnFor(applicationId, known)}. ${why}`,
    );
  if (caller.kind !== 'session') {
    throw denied(
      caller.kind === 'base'
        ? 'Amazon Q Business requires identity-aware credentials (trusted identity propagation or IAM federation); plain IAM credentials carry no user identity.'
        : 'The request is not signed.',
    );
  }
  const { session } = caller;
  const identity = session.identity;
  if (!identity) {
    throw denied(
      'The session carries no user identity: credentials must come from an identity-aware session.',
    );
  }
  const app = known;
  if (!app || (scope && scope.region !== app.region)) {
    throw notFound('Application', applicationId, `Application ${applicationId} not found.`);
  }
  const principal: Principal = { userId: identity.userId, email: identity.email, groups: identity.groups };
  const access = { app, principal, owner: `${identity.kind}:${identity.userId}`, kind: identity.kind };

  switch (identity.kind) {
    case 'idc':
      if (app.identityType !== 'AWS_IAM_IDC' || identity.qApplicationId !== app.applicationId) {
        throw denied('The identity context was issued for a different application.');
      }
      if (session.accountId !== app.accountId) throw denied('The role is not in the application account.');
      return access;
    case 'data-accessor': {
      const da = world.dataAccessors.find((d) => d.dataAccessorId === identity.dataAccessorId);
      if (!da || da.qApplicationId !== app.applicationId || identity.qApplicationId !== app.applicationId) {
        throw denied('The data accessor has no access to this application.');
      }
      if (session.accountId !== da.principalAccountId)
        throw denied('The caller is not the data accessor principal.');
      const tenant = session.tags[DATA_ACCESSOR_EXTERNAL_ID_TAG];
      if (tenant !== da.tenantId || (identity.tenantId && identity.tenantId !== da.tenantId)) {
        throw denied(
          'The session tag qbusiness-dataaccessor:ExternalId does not match the tenant of this data accessor.',
        );
      }
      if (!da.actions.includes(`qbusiness:${action}`)) {
        throw denied(`The data accessor was not granted qbusiness:${action}.`);
      }
      return access;
    }
    case 'iam-federation':
      if (app.identityType !== 'AWS_IAM_IDP_OIDC') {
        throw denied('This application uses IAM Identity Center; IAM federation sessions cannot call it.');
      }
      if (!identity.email) throw denied('The session has no Email principal tag.');
      if (session.accountId !== app.accountId) throw denied('The role is not in the application account.');
      return access;
  }
}

function arnFor(applicationId: string, app: QApplication | undefined): string {
  return `arn:aws:qbusiness:${app?.region ?? '*'}:${app?.accountId ?? '*'}:application/${applicationId}`;
}
