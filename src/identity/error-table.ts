/**
 * @module The identity error table: (exchange step, AWS exception name) → the typed error to raise.
 * AWS's text only refines within one cell (rows tried in order), so no message pattern can capture a
 * refusal meant for another step or exception. The shapes it is tested on are recorded from the SDK
 * clients against the sandbox (test/identity/fixtures/aws-errors.json).
 */
import { discoveryUrl } from '../auth/discovery.js';
import { ErrorCode } from '../errors.js';
import type { ErrorContext, ExchangeStep } from './errors.js';

export const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired']);

/** What the rows build messages from; nothing secret. */
export interface Facts {
  step: ExchangeStep;
  mode: ErrorContext['config']['mode'];
  /** `(<step> answered <name>: <AWS's words, clipped>)`, closing every message that quotes AWS. */
  said: string;
  /** AWS's words, clipped (for errors below HTTP, which have no `said`). */
  detail: string;
  /** AWS's words in full, to read details from (never quoted whole). */
  text: string;
  idcArn: string | undefined;
  issuer: string;
  audience: string;
  email: string | undefined;
}

export type Outcome = { code: ErrorCode; message: string; remedy: string; retryable?: boolean };
export type Build = (f: Facts) => Outcome;
export type Grant = 'jwt-bearer' | 'auth-code';
/** One refinement of a cell: applies when AWS's text matches `when` (and the grant is `grant`). */
export type Row = { when?: RegExp; grant?: Grant; build: Build };
type Table = Partial<Record<ExchangeStep | 'any', Record<string, readonly Row[]>>>;

export const THROTTLED: Build = (f) => ({
  code: ErrorCode.Throttled,
  message: `AWS is throttling ${f.step} ${f.said}.`,
  retryable: true,
  remedy: 'Wait a little and try again; if it persists, ask the AWS account owner about request quotas.',
});
const UNREACHABLE: Build = (f) => ({
  code: ErrorCode.AwsUnreachable,
  message: `Cannot reach AWS for ${f.step}: ${f.detail}.`,
  retryable: true,
  remedy: 'Check the network connection and aws.endpoint in the configuration.',
});
const CREDENTIALS_MISSING: Build = (f) => ({
  code: ErrorCode.AwsCredentialsMissing,
  message: `No AWS credentials found for ${f.step}.`,
  remedy:
    "Provide the app's (or ISV's) AWS credentials through the default chain: AWS_PROFILE or aws.profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or an instance role.",
});
const CREDENTIALS_INVALID: Build = (f) => ({
  code: ErrorCode.AwsCredentialsInvalid,
  message: `AWS refused the base credentials for ${f.step} ${f.said}.`,
  remedy: "Check the app's (or ISV's) AWS access key: it is unknown, revoked, or its secret is wrong.",
});
const CREDENTIALS_EXPIRED: Build = (f) => ({
  code: ErrorCode.AwsCredentialsExpired,
  message: `AWS credentials used for ${f.step} have expired ${f.said}.`,
  retryable: true,
  remedy: "Renew the app's (or ISV's) AWS credentials (e.g. `aws sso login`), then try again.",
});
const ID_TOKEN_EXPIRED: Build = (f) => ({
  code: ErrorCode.IdTokenExpired,
  message: `The ID token was already expired when AWS checked it ${f.said}.`,
  retryable: true,
  remedy: "Check this machine's clock; then try again.",
});
const ISSUER_KEYS_UNREACHABLE: Build = (f) => ({
  code: ErrorCode.ExchangeFailed,
  message: `AWS could not fetch the signing keys of issuer ${f.issuer} to check the ID token ${f.said}.`,
  retryable: true,
  remedy: `Try again shortly; if it persists, the IdP administrator must make ${discoveryUrl(f.issuer)} and its jwks_uri reachable from AWS.`,
});
const ID_TOKEN_UNVERIFIED: Build = (f) => ({
  code: ErrorCode.ExchangeFailed,
  message: `AWS could not verify the ID token's signature with the keys of issuer ${f.issuer} ${f.said}.`,
  retryable: true,
  remedy: `If the IdP rotated its keys just now, try again in a few minutes; otherwise check that idp.issuer (${f.issuer}) is the issuer AWS trusts.`,
});

const roleTrust = (f: Facts, action: string, needed: string): Outcome => ({
  code: ErrorCode.RoleTrust,
  message: `The trust policy of role ${f.mode.roleArn} does not allow ${action} for this caller ${f.said}.`,
  remedy: `The role's owner must let the app's AWS principal perform ${needed} in the trust policy of ${f.mode.roleArn}.`,
});
/** AssumeRole refused: name the action the trust policy lacks, as AWS's text gives it. */
const ASSUME_ROLE_DENIED: Build = (f) =>
  roleTrust(
    f,
    /sts:(SetContext|TagSession|AssumeRole)\b/.exec(f.text)?.[0] ?? 'sts:AssumeRole',
    f.mode.type === 'data-accessor'
      ? 'sts:AssumeRole, sts:SetContext and sts:TagSession'
      : 'sts:AssumeRole and sts:SetContext',
  );

const CREATE_TOKEN_WITH_IAM: Record<string, readonly Row[]> = {
  InvalidGrantException: [
    {
      // The auth-code grant's own refusals say "already used" about codes: not this recovery.
      grant: 'jwt-bearer',
      when: /\breused?\b|already (been )?used|replay/i,
      build: (f) => ({
        code: ErrorCode.AssertionReused,
        message: `IAM Identity Center refused the ID token as already used ${f.said}.`,
        retryable: true,
        remedy: 'Try again: every exchange needs a brand-new ID token from the identity provider.',
      }),
    },
    { when: /unknown user|no user|email/i, build: unknownUser },
    {
      grant: 'auth-code',
      build: (f) => ({
        code: ErrorCode.IdcLoginRequired,
        message: `IAM Identity Center refused the login grant ${f.said}.`,
        remedy: 'Sign in through IAM Identity Center again.',
      }),
    },
    // Before /issuer/: IdC's audience refusal names the trusted token issuer too.
    {
      when: /audience/i,
      build: (f) => ({
        code: ErrorCode.AudienceNotAuthorized,
        message: `The ID token audience ${f.audience} is not authorized for the IAM Identity Center application ${f.idcArn} ${f.said}.`,
        remedy: `An IAM Identity Center administrator must add "${f.audience}" to the authorized audiences of the trusted token issuer ${f.issuer} on ${f.idcArn}, or set idp.clientId to the client id it authorizes.`,
      }),
    },
    { when: /signing keys/i, build: ISSUER_KEYS_UNREACHABLE },
    { when: /could not be verified|signature/i, build: ID_TOKEN_UNVERIFIED },
    {
      when: /issuer/i,
      build: (f) => ({
        code: ErrorCode.UntrustedIssuer,
        message: `The IAM Identity Center application ${f.idcArn} does not trust tokens from issuer ${f.issuer} ${f.said}.`,
        remedy: `An IAM Identity Center administrator must add ${f.issuer} as a trusted token issuer and allow it on application ${f.idcArn} (JWT bearer grant), or the configuration names the wrong application (mode.idcApplicationArn).`,
      }),
    },
    { when: /expired/i, build: ID_TOKEN_EXPIRED },
  ],
  AccessDeniedException: [
    {
      when: /tenant/i,
      build: (f) => ({
        code: ErrorCode.TenantMismatch,
        message: `The tenant id "${'tenantId' in f.mode ? f.mode.tenantId : '(none)'}" does not match the data accessor ${f.said}.`,
        remedy:
          'Set mode.tenantId to the tenant id agreed with the customer for this data accessor (the customer sees it in the Amazon Q Business console under Data accessors).',
      }),
    },
    {
      when: /not authorized to (perform|use)/i,
      build: (f) => ({
        code: ErrorCode.IdcAccessDenied,
        message: `The AWS principal calling ${f.step} may not use the IAM Identity Center application ${f.idcArn} ${f.said}.`,
        remedy:
          f.mode.type === 'data-accessor'
            ? "The customer must grant the ISV's account this data accessor; check mode.roleArn and mode.idcApplicationArn."
            : "Sign CreateTokenWithIAM with credentials of the application's own AWS account (the default credential chain or aws.profile), allowed sso-oauth:CreateTokenWithIAM.",
      }),
    },
    // AccessDenied without a stated cause is, in practice, usually the email mismatch (design.md 2).
    { build: unknownUser },
  ],
  ...cell(['InvalidClientException', 'UnauthorizedClientException'], {
    build: (f) => ({
      code: ErrorCode.IdcApplicationInvalid,
      message: `IAM Identity Center refused the application ${f.idcArn} ${f.said}.`,
      remedy:
        'Check mode.idcApplicationArn and mode.idcRegion (the region of the IAM Identity Center instance), and that the application allows this grant type; an IdC administrator can enable it under Trusted applications for identity propagation.',
    }),
  }),
};

function unknownUser(f: Facts): Outcome {
  const email = f.email ?? '(no email claim)';
  return {
    code: ErrorCode.UnknownUser,
    message: `IAM Identity Center has no user matching the signed-in email ${email} ${f.said}.`,
    remedy: `An IAM Identity Center administrator must create or sync a user whose primary email is ${f.email ?? 'the IdP email'} (the trusted token issuer maps the email claim to the IdC user's email), or sign in with an account that exists in IAM Identity Center.`,
  };
}

const ASSUME_ROLE: Record<string, readonly Row[]> = {
  ...cell(['AccessDenied', 'AccessDeniedException'], { build: ASSUME_ROLE_DENIED }),
};

const ASSUME_ROLE_WITH_WEB_IDENTITY: Record<string, readonly Row[]> = {
  ...cell(['ExpiredTokenException', 'ExpiredToken'], { build: ID_TOKEN_EXPIRED }),
  ...cell(
    ['InvalidIdentityTokenException', 'InvalidIdentityToken'],
    {
      when: /No OpenIDConnect provider|issuer/i,
      build: (f) => ({
        code: ErrorCode.UntrustedIssuer,
        message: `The AWS account has no IAM OIDC identity provider for ${f.issuer} ${f.said}.`,
        remedy: `The AWS account owner must create an IAM OIDC identity provider for ${f.issuer} and trust it in role ${f.mode.roleArn}.`,
      }),
    },
    {
      when: /audience/i,
      build: (f) => ({
        code: ErrorCode.AudienceNotAuthorized,
        message: `Role ${f.mode.roleArn} does not accept ID tokens for audience ${f.audience} ${f.said}.`,
        remedy: `The AWS account owner must add "${f.audience}" as a client id (audience) of the IAM OIDC provider and the role's trust condition, or set idp.clientId to the audience it trusts.`,
      }),
    },
    { when: /signature/i, build: ID_TOKEN_UNVERIFIED },
  ),
  ...cell(['IDPCommunicationErrorException', 'IDPCommunicationError'], { build: ISSUER_KEYS_UNREACHABLE }),
  ...cell(
    ['AccessDenied', 'AccessDeniedException'],
    {
      when: /Email|principal.?tag/i,
      build: (f) => ({
        code: ErrorCode.MissingEmailTag,
        message: `The ID token lacks the Email principal tag that Q Business needs ${f.said}.`,
        remedy:
          'The IdP administrator must add the claim "https://aws.amazon.com/tags": {"principal_tags": {"Email": [<email>]}} to ID tokens for this client.',
      }),
    },
    {
      build: (f) => ({
        code: ErrorCode.RoleTrust,
        message: `The trust policy of role ${f.mode.roleArn} does not allow sts:AssumeRoleWithWebIdentity for ${f.issuer} ${f.said}.`,
        remedy: `The role's owner must trust the IAM OIDC provider for ${f.issuer} (and allow sts:TagSession) in ${f.mode.roleArn}.`,
      }),
    },
  ),
};

/**
 * (step, exception name) → refinements, tried in order; when none of a step's rows applies, the `any`
 * rows for the same name do, then the status code (429, 5xx), then `exchange_failed`.
 */
export const TABLE: Table = {
  any: {
    ...cell(
      [
        'Throttling',
        'ThrottlingException',
        'TooManyRequestsException',
        'SlowDownException',
        'SlowDown',
        'RequestLimitExceeded',
      ],
      { build: THROTTLED },
    ),
    // Below HTTP there is no exception name: Node's error code stands for it.
    ...cell(
      ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'TimeoutError'],
      {
        build: UNREACHABLE,
      },
    ),
    CredentialsProviderError: [{ build: CREDENTIALS_MISSING }],
    ...cell(
      [
        'InvalidClientTokenId',
        'UnrecognizedClientException',
        'SignatureDoesNotMatch',
        'InvalidSignatureException',
        'MissingAuthenticationToken',
        'MissingAuthenticationTokenException',
      ],
      { build: CREDENTIALS_INVALID },
    ),
    ...cell([...EXPIRED], { build: CREDENTIALS_EXPIRED }),
  },
  'sso-oidc:CreateTokenWithIAM': CREATE_TOKEN_WITH_IAM,
  'sts:AssumeRole (tenant tag)': ASSUME_ROLE,
  'sts:AssumeRole (identity context)': {
    ...ASSUME_ROLE,
    ExpiredTokenException: [
      {
        when: /context assertion/i,
        build: (f) => ({
          code: ErrorCode.ExchangeFailed,
          message: `The identity context had expired when ${f.step} checked it ${f.said}.`,
          retryable: true,
          remedy: "Try again; if it keeps happening, check this machine's clock.",
        }),
      },
    ],
  },
  'sts:AssumeRoleWithWebIdentity': ASSUME_ROLE_WITH_WEB_IDENTITY,
};

function cell(names: readonly string[], ...rows: Row[]): Record<string, readonly Row[]> {
  return Object.fromEntries(names.map((n) => [n, rows]));
}
