/**
 * @module Mode `iam-federation` (design.md 2d): no Identity Center; the ID token (with the Email
 * principal tag) goes straight to sts:AssumeRoleWithWebIdentity, an unsigned call.
 */
import { AssumeRoleWithWebIdentityCommand } from '@aws-sdk/client-sts';
import { sharedStsClient, freshToken, runStep, sessionName, toCredentials, type ChainDeps } from './chain.js';
import type { Exchange } from './idc.js';

export function createIamFederationExchange(deps: ChainDeps): Exchange {
  const mode = deps.config.mode;
  if (mode.type !== 'iam-federation')
    throw new Error(`createIamFederationExchange needs mode iam-federation`);
  // AssumeRoleWithWebIdentity is unsigned: this client never looks for base credentials.
  const sts = sharedStsClient(deps.config, undefined, false);
  const step = 'sts:AssumeRoleWithWebIdentity' as const;

  return async () => {
    const { token, claims } = await freshToken(deps);
    const assumed = await runStep(deps, step, claims, () =>
      sts.send(
        new AssumeRoleWithWebIdentityCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: sessionName(claims),
          WebIdentityToken: token,
          DurationSeconds: mode.sessionDurationSeconds,
        }),
      ),
    );
    return { credentials: toCredentials(assumed.Credentials, step), claims };
  };
}
