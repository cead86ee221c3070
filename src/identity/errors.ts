/**
 * @module Turns AWS SDK errors from the exchange calls (sso-oidc, STS) into typed QindexErrors that
 * name the cause and give the remedy to whoever can fix it: an IdC administrator, the IAM role's
 * owner, the ISV's operator, or the user (sign in again). Messages never carry tokens.
 */
import { QindexError, isQindexError } from '../errors.js';
import type { QindexConfig } from '../config/schema.js';

/** The exchange calls, named as in design.md section 2. */
export type ExchangeStep =
  | 'sts:AssumeRole (tenant tag)'
  | 'sso-oidc:CreateTokenWithIAM'
  | 'sts:AssumeRole (identity context)'
  | 'sts:AssumeRoleWithWebIdentity'
  | 'idc:authorize';

export interface ErrorContext {
  config: Pick<QindexConfig, 'profile' | 'idp' | 'mode'>;
  step: ExchangeStep;
  /** Non-secret claims of the ID token used, when there was one. */
  claims?: { iss?: string; aud?: string | string[]; email?: string; sub?: string };
}

/** What an AWS SDK error looks like from outside (sso-oidc adds OAuth's error/error_description/reason). */
interface AwsErrorLike {
  name?: string;
  message?: string;
  error?: string;
  error_description?: string;
  reason?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING =
  /^(Throttling|ThrottlingException|TooManyRequestsException|SlowDownException|SlowDown|RequestLimitExceeded)$/;

/** True for the sso-oidc refusal of an assertion that was already used once (a recoverable case). */
export function isReusedAssertion(e: unknown): boolean {
  const err = e as AwsErrorLike;
  return err?.name === 'InvalidGrantException' && /reuse|already (been )?used|replay/i.test(text(err));
}

/** True when AWS refused credentials because the session expired (re-exchange, once). */
export function isExpiredCredentials(e: unknown): boolean {
  const name = (e as AwsErrorLike)?.name ?? '';
  return name === 'ExpiredToken' || name === 'ExpiredTokenException' || name === 'RequestExpired';
}

/** Maps an error thrown during `ctx.step` to a QindexError; QindexErrors (from sign-in) pass through. */
export function toIdentityError(e: unknown, ctx: ErrorContext): QindexError {
  if (isQindexError(e)) return e;
  const err = (e ?? {}) as AwsErrorLike;
  const name = err.name ?? 'Error';
  const detail = text(err);
  const { config, step } = ctx;
  const mode = config.mode;
  const idcArn = 'idcApplicationArn' in mode ? mode.idcApplicationArn : undefined;
  const issuer = ctx.claims?.iss ?? config.idp.issuer;
  const audience = [ctx.claims?.aud ?? config.idp.clientId].flat().join(', ');
  const email = ctx.claims?.email;
  const opts = { cause: e };
  const said = `(${step} answered ${name}: ${clip(shown(err))})`;

  if (isReusedAssertion(e)) {
    return new QindexError(
      'assertion_reused',
      `IAM Identity Center refused the ID token as already used ${said}.`,
      {
        ...opts,
        retryable: true,
        remedy: 'Try again: every exchange needs a brand-new ID token from the identity provider.',
      },
    );
  }
  if (THROTTLING.test(name) || err.$metadata?.httpStatusCode === 429) {
    return new QindexError('throttled', `AWS is throttling ${step} ${said}.`, {
      ...opts,
      retryable: true,
      remedy: 'Wait a little and try again; if it persists, ask the AWS account owner about request quotas.',
    });
  }
  if (isNetworkError(err)) {
    return new QindexError('aws_unreachable', `Cannot reach AWS for ${step}: ${clip(err.message ?? name)}.`, {
      ...opts,
      retryable: true,
      remedy: 'Check the network connection and aws.endpoint in the configuration.',
    });
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(err.message ?? '')) {
    return new QindexError('aws_credentials_missing', `No AWS credentials found for ${step}.`, {
      ...opts,
      remedy:
        "Provide the app's (or ISV's) AWS credentials through the default chain: AWS_PROFILE or aws.profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO or an instance role.",
    });
  }
  if (
    /^(InvalidClientTokenId|UnrecognizedClientException|SignatureDoesNotMatch|InvalidSignatureException|MissingAuthenticationToken)/.test(
      name,
    )
  ) {
    return new QindexError(
      'aws_credentials_invalid',
      `AWS refused the base credentials for ${step} ${said}.`,
      {
        ...opts,
        remedy: "Check the app's (or ISV's) AWS access key: it is unknown, revoked, or its secret is wrong.",
      },
    );
  }
  if (isExpiredCredentials(e) && /context assertion/i.test(detail)) {
    return new QindexError(
      'exchange_failed',
      `The identity context had expired when ${step} checked it ${said}.`,
      {
        ...opts,
        retryable: true,
        remedy: "Try again; if it keeps happening, check this machine's clock.",
      },
    );
  }
  if (isExpiredCredentials(e) && step !== 'sts:AssumeRoleWithWebIdentity') {
    return new QindexError(
      'aws_credentials_expired',
      `AWS credentials used for ${step} have expired ${said}.`,
      {
        ...opts,
        retryable: true,
        remedy: "Renew the app's (or ISV's) AWS credentials (e.g. `aws sso login`), then try again.",
      },
    );
  }

  if (/tenant/i.test(detail)) {
    const tenantId = 'tenantId' in mode ? mode.tenantId : '(none)';
    return new QindexError(
      'tenant_mismatch',
      `The tenant id "${tenantId}" does not match the data accessor ${said}.`,
      {
        ...opts,
        remedy:
          'Set mode.tenantId to the tenant id agreed with the customer for this data accessor (the customer sees it in the Amazon Q Business console under Data accessors).',
      },
    );
  }

  if (step === 'sso-oidc:CreateTokenWithIAM') {
    if (/audience/i.test(detail)) {
      return new QindexError(
        'audience_not_authorized',
        `The ID token audience ${audience} is not authorized for the IAM Identity Center application ${idcArn} ${said}.`,
        {
          ...opts,
          remedy: `An IAM Identity Center administrator must add "${audience}" to the authorized audiences of the trusted token issuer ${issuer} on ${idcArn}, or set idp.clientId to the client id it authorizes.`,
        },
      );
    }
    if (/issuer/i.test(detail)) {
      return new QindexError(
        'untrusted_issuer',
        `The IAM Identity Center application ${idcArn} does not trust tokens from issuer ${issuer} ${said}.`,
        {
          ...opts,
          remedy: `An IAM Identity Center administrator must add ${issuer} as a trusted token issuer and allow it on application ${idcArn} (JWT bearer grant), or the configuration names the wrong application (mode.idcApplicationArn).`,
        },
      );
    }
    if (/not authorized to (perform|use)/i.test(detail)) {
      return new QindexError(
        'idc_access_denied',
        `The AWS principal calling ${step} may not use the IAM Identity Center application ${idcArn} ${said}.`,
        {
          ...opts,
          remedy:
            mode.type === 'data-accessor'
              ? "The customer must grant the ISV's account this data accessor; check mode.roleArn and mode.idcApplicationArn."
              : "Sign CreateTokenWithIAM with credentials of the application's own AWS account (the default credential chain or aws.profile), allowed sso-oauth:CreateTokenWithIAM.",
        },
      );
    }
    // AccessDenied without a stated cause is, in practice, usually the email mismatch (design.md 2).
    if (/unknown user|no user|email/i.test(detail) || name === 'AccessDeniedException') {
      return new QindexError(
        'unknown_user',
        `IAM Identity Center has no user matching the signed-in email ${email ?? '(no email claim)'} ${said}.`,
        {
          ...opts,
          remedy: `An IAM Identity Center administrator must create or sync a user whose primary email is ${email ?? 'the IdP email'} (the trusted token issuer maps the email claim to the IdC user's email), or sign in with an account that exists in IAM Identity Center.`,
        },
      );
    }
    if (name === 'InvalidClientException' || name === 'UnauthorizedClientException') {
      return new QindexError(
        'idc_application_invalid',
        `IAM Identity Center refused the application ${idcArn} ${said}.`,
        {
          ...opts,
          remedy:
            'Check mode.idcApplicationArn and that the application allows this grant type; an IdC administrator can enable it under Trusted applications for identity propagation.',
        },
      );
    }
    if (
      name === 'InvalidGrantException' &&
      ctx.config.mode.type === 'data-accessor' &&
      ctx.config.mode.grant === 'auth-code'
    ) {
      return new QindexError('idc_login_required', `IAM Identity Center refused the login grant ${said}.`, {
        ...opts,
        remedy: 'Sign in through IAM Identity Center again.',
      });
    }
  }

  if (
    step.startsWith('sts:AssumeRole') &&
    step !== 'sts:AssumeRoleWithWebIdentity' &&
    /AccessDenied/.test(name)
  ) {
    const action = /sts:(SetContext|TagSession|AssumeRole)\b/.exec(detail)?.[0] ?? 'sts:AssumeRole';
    const roleArn = mode.roleArn;
    const needed =
      mode.type === 'data-accessor'
        ? 'sts:AssumeRole, sts:SetContext and sts:TagSession'
        : 'sts:AssumeRole and sts:SetContext';
    return new QindexError(
      'role_trust',
      `The trust policy of role ${roleArn} does not allow ${action} for this caller ${said}.`,
      {
        ...opts,
        remedy: `The role's owner must let the app's AWS principal perform ${needed} in the trust policy of ${roleArn}.`,
      },
    );
  }

  if (step === 'sts:AssumeRoleWithWebIdentity') {
    if (name === 'ExpiredTokenException') {
      return new QindexError(
        'id_token_expired',
        `The ID token was already expired when AWS checked it ${said}.`,
        {
          ...opts,
          retryable: true,
          remedy: "Check this machine's clock; then try again.",
        },
      );
    }
    if (/No OpenIDConnect provider|issuer/i.test(detail)) {
      return new QindexError(
        'untrusted_issuer',
        `The AWS account has no IAM OIDC identity provider for ${issuer} ${said}.`,
        {
          ...opts,
          remedy: `The AWS account owner must create an IAM OIDC identity provider for ${issuer} and trust it in role ${mode.roleArn}.`,
        },
      );
    }
    if (/audience/i.test(detail)) {
      return new QindexError(
        'audience_not_authorized',
        `Role ${mode.roleArn} does not accept ID tokens for audience ${audience} ${said}.`,
        {
          ...opts,
          remedy: `The AWS account owner must add "${audience}" as a client id (audience) of the IAM OIDC provider and the role's trust condition, or set idp.clientId to the audience it trusts.`,
        },
      );
    }
    if (/Email|principal.?tag/i.test(detail)) {
      return new QindexError(
        'missing_email_tag',
        `The ID token lacks the Email principal tag that Q Business needs ${said}.`,
        {
          ...opts,
          remedy:
            'The IdP administrator must add the claim "https://aws.amazon.com/tags": {"principal_tags": {"Email": [<email>]}} to ID tokens for this client.',
        },
      );
    }
    if (/AccessDenied/.test(name)) {
      return new QindexError(
        'role_trust',
        `The trust policy of role ${mode.roleArn} does not allow sts:AssumeRoleWithWebIdentity for ${issuer} ${said}.`,
        {
          ...opts,
          remedy: `The role's owner must trust the IAM OIDC provider for ${issuer} (and allow sts:TagSession) in ${mode.roleArn}.`,
        },
      );
    }
  }

  return new QindexError('exchange_failed', `${step} failed ${said}.`, {
    ...opts,
    retryable: (err.$metadata?.httpStatusCode ?? 0) >= 500,
    remedy: 'Run `qindex-mcp doctor` to see which step of the identity chain fails and why.',
  });
}

/** The refresh token at the IdP (or IdC) is gone: the user must sign in again. */
export function loginExpired(profile: string, cause?: unknown): QindexError {
  return new QindexError('login_expired', 'The sign-in has expired or was revoked.', {
    cause,
    remedy: `Sign in again: run \`qindex-mcp login --profile ${profile}\`.`,
  });
}

/** AWS's own explanation, for people: sso-oidc puts it in error_description (message is "UnknownError"). */
function shown(err: AwsErrorLike): string {
  const message = err.message && err.message !== 'UnknownError' ? err.message : undefined;
  return err.error_description ?? message ?? err.error ?? err.name ?? 'no detail';
}

function text(err: AwsErrorLike): string {
  return [err.error, err.error_description, err.reason, err.message].filter(Boolean).join(' ');
}

function isNetworkError(err: AwsErrorLike): boolean {
  return (
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH)$/.test(err.code ?? '') ||
    err.name === 'TimeoutError'
  );
}

/**
 * Shortens AWS's text and blanks anything shaped like a JWT or a long base64 run (an identity context, a
 * session token, a secret key), in case a service echoes a value it refused. ARNs break at ":" and "-".
 */
const clip = (s: string) => {
  const safe = s
    .replace(/eyJ[\w-]+\.[\w-]+\.[\w-]*/g, '[token]')
    .replace(/[A-Za-z0-9+/=]{40,}/g, '[redacted]');
  return safe.length > 300 ? `${safe.slice(0, 297)}...` : safe;
};
