/**
 * @module Mode `idc` (design.md 2a): the ID token is exchanged at IAM Identity Center for an identity
 * context (CreateTokenWithIAM, jwt-bearer, signed with the app's own credentials), which then rides
 * on sts:AssumeRole as a ProvidedContext. Returns an exchange function; index.ts memoizes it.
 */
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand } from '@aws-sdk/client-sso-oidc';
import type { AwsCredentialIdentity } from '@smithy/types';
import {
  IDENTITY_CENTER_CONTEXT_PROVIDER,
  JWT_BEARER_GRANT,
  sharedSsoOidcClient,
  sharedStsClient,
  freshToken,
  requireIdentityContext,
  runStep,
  sessionName,
  toCredentials,
  type BaseCredentials,
  type ChainDeps,
  type TokenClaims,
} from './chain.js';

export interface ExchangeResult {
  credentials: AwsCredentialIdentity;
  claims: TokenClaims;
}

export type Exchange = () => Promise<ExchangeResult>;

export function createIdcExchange(deps: ChainDeps, base: BaseCredentials | undefined): Exchange {
  const mode = deps.config.mode;
  if (mode.type !== 'idc') throw new Error(`createIdcExchange needs mode idc, not ${mode.type}`);
  const ssoOidc = sharedSsoOidcClient(deps.config, mode.idcRegion, base);
  const sts = sharedStsClient(deps.config, base);

  return async () => {
    const { token, claims } = await freshToken(deps);
    const response = await runStep(deps, 'sso-oidc:CreateTokenWithIAM', claims, () =>
      ssoOidc.send(
        new CreateTokenWithIAMCommand({
          clientId: mode.idcApplicationArn,
          grantType: JWT_BEARER_GRANT,
          assertion: token,
        }),
      ),
    );
    const identityContext = requireIdentityContext(response);
    const assumed = await runStep(deps, 'sts:AssumeRole (identity context)', claims, () =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: sessionName(claims),
          DurationSeconds: mode.sessionDurationSeconds,
          ProvidedContexts: [
            { ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: identityContext },
          ],
        }),
      ),
    );
    return { credentials: toCredentials(assumed.Credentials, 'sts:AssumeRole (identity context)'), claims };
  };
}
