/**
 * @module Mode `data-accessor` (design.md 2b and 2c), the ISV case: a session of the ISV's role tagged
 * with the tenant id signs CreateTokenWithIAM at the customer's IAM Identity Center; the identity
 * context then rides on a second AssumeRole with the same tag. `tti` exchanges the ISV IdP's ID token
 * (jwt-bearer); `auth-code` exchanges a code from an IdC login (PKCE sent), keeping IdC's refresh token
 * in memory and asking for a new login when it no longer works.
 */
import { AssumeRoleCommand, type Tag } from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand, type CreateTokenWithIAMResponse } from '@aws-sdk/client-sso-oidc';
import type { AwsCredentialIdentity } from '@smithy/types';
import { ErrorCode, QindexError } from '../errors.js';
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  IDENTITY_CENTER_CONTEXT_PROVIDER,
  JWT_BEARER_GRANT,
  claimsOf,
  perCallSsoOidcClient,
  sharedStsClient,
  signedWith,
  freshToken,
  identityContextOf,
  requireIdentityContext,
  runStep,
  sessionName,
  toCredentials,
  type BaseCredentials,
  type ChainDeps,
  type TokenClaims,
} from './chain.js';
import type { Exchange } from './idc.js';

/** What an IdC login (authorize endpoint, PKCE) hands back for the authorization_code grant. */
export interface AuthCodeGrant {
  code: string;
  codeVerifier: string;
  redirectUri: string;
}

export type IdcLogin = () => Promise<AuthCodeGrant>;

/** The tagged session lives for one CreateTokenWithIAM call only: the shortest STS allows. */
const TAGGED_SESSION_SECONDS = 900;

export function createDataAccessorExchange(
  deps: ChainDeps & { idcLogin?: IdcLogin },
  base: BaseCredentials | undefined,
): Exchange {
  const mode = deps.config.mode;
  if (mode.type !== 'data-accessor') throw new Error('createDataAccessorExchange needs mode data-accessor');
  const sts = sharedStsClient(deps.config, base);
  // One sso-oidc client for every user (chain.ts): each CreateTokenWithIAM is signed with the tagged
  // session its own exchange just made, held only for that call.
  const ssoOidc = perCallSsoOidcClient(deps.config, mode.idcRegion);
  const tags: Tag[] = [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: mode.tenantId }];
  let idcRefreshToken: string | undefined;

  const assumeTagged = async (claims: TokenClaims | undefined): Promise<AwsCredentialIdentity> => {
    const step = 'sts:AssumeRole (tenant tag)' as const;
    const r = await runStep(deps, step, claims, () =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: sessionName(claims),
          DurationSeconds: TAGGED_SESSION_SECONDS,
          Tags: tags,
        }),
      ),
    );
    return toCredentials(r.Credentials, step);
  };

  const createToken = (
    tagged: AwsCredentialIdentity,
    claims: TokenClaims | undefined,
    input: Omit<CreateTokenWithIAMCommand['input'], 'clientId'>,
  ) =>
    runStep(deps, 'sso-oidc:CreateTokenWithIAM', claims, () =>
      signedWith(tagged, () =>
        ssoOidc.send(new CreateTokenWithIAMCommand({ clientId: mode.idcApplicationArn, ...input })),
      ),
    );

  const tti = async () => {
    const { token, claims } = await freshToken(deps);
    const tagged = await assumeTagged(claims);
    const response = await createToken(tagged, claims, { grantType: JWT_BEARER_GRANT, assertion: token });
    return { response, claims };
  };

  const authCode = async () => {
    const tagged = await assumeTagged(undefined);
    let response: CreateTokenWithIAMResponse | undefined;
    if (idcRefreshToken) {
      const refreshToken = idcRefreshToken;
      idcRefreshToken = undefined;
      // The refresh_token grant may return no new identity context (design.md 2): then log in again.
      response = await createToken(tagged, undefined, { grantType: 'refresh_token', refreshToken }).then(
        (r) => (identityContextOf(r) ? r : undefined),
        (e: unknown) => {
          deps.logger.info(
            { code: (e as QindexError).code },
            'IdC refresh token no longer works; signing in again',
          );
          return undefined;
        },
      );
    }
    if (!response) {
      const login = deps.idcLogin;
      if (!login) {
        throw new QindexError(
          ErrorCode.IdcLoginRequired,
          'This mode needs a sign-in through IAM Identity Center.',
          {
            remedy: 'Run qindex-mcp where a browser can open, so the IAM Identity Center login can complete.',
          },
        );
      }
      const grant = await runStep(deps, 'idc:authorize', undefined, login);
      response = await createToken(tagged, undefined, {
        grantType: 'authorization_code',
        code: grant.code,
        redirectUri: grant.redirectUri,
        codeVerifier: grant.codeVerifier,
      });
    }
    if (response.refreshToken) idcRefreshToken = response.refreshToken;
    return { response, claims: response.idToken ? claimsOf(response.idToken) : {} };
  };

  return async () => {
    const { response, claims } = mode.grant === 'auth-code' ? await authCode() : await tti();
    const identityContext = requireIdentityContext(response);
    const step = 'sts:AssumeRole (identity context)' as const;
    const assumed = await runStep(deps, step, claims, () =>
      sts.send(
        new AssumeRoleCommand({
          RoleArn: mode.roleArn,
          RoleSessionName: sessionName(claims),
          DurationSeconds: mode.sessionDurationSeconds,
          Tags: tags,
          ProvidedContexts: [
            { ProviderArn: IDENTITY_CENTER_CONTEXT_PROVIDER, ContextAssertion: identityContext },
          ],
        }),
      ),
    );
    return { credentials: toCredentials(assumed.Credentials, step), claims };
  };
}
