/**
 * @module The identity error table (src/identity/errors.ts) against the error shapes the AWS SDK clients
 * really produce from the sandbox (fixtures/aws-errors.json, `npx tsx tools/record-aws-errors.ts`):
 * every recorded refusal gets its code, retryability and the words the end-to-end tests rely on; AWS's
 * text only refines within a (step, exception) cell, so a word like "tenant" in an ARN decides nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigSchema, type QindexConfig } from '../../src/config/schema.js';
import { QindexError } from '../../src/errors.js';
import { isReusedAssertion, toIdentityError, type ErrorContext } from '../../src/identity/errors.js';
import type { AwsErrorShape, RecordedAwsError, RecordedMode } from '../../tools/record-aws-errors.js';

const recorded = JSON.parse(
  readFileSync(new URL('./fixtures/aws-errors.json', import.meta.url), 'utf8'),
) as RecordedAwsError[];

const ISSUER = 'https://idp.sandbox.example';
const IDC_APP = 'arn:aws:sso::111111111111:application/ssoins-7223sandbox0001/apl-qindexmcp0001';
const DA_APP = 'arn:aws:sso::222222222222:application/ssoins-7223sandbox0001/apl-dataaccess01';

function configFor(mode: RecordedMode, roleArn?: string): QindexConfig {
  const common = {
    profile: 'work',
    q: {
      region: 'us-east-1',
      applicationId: 'a1b2c3d4-5678-90ab-cdef-111111111111',
      retrieverId: 'ret00000-0000-4000-8000-000000000001',
    },
  };
  const dataAccessor = (grant: 'tti' | 'auth-code') => ({
    ...common,
    idp: { issuer: ISSUER, clientId: 'isv-agent' },
    mode: {
      type: 'data-accessor',
      grant,
      idcRegion: 'us-west-2',
      idcApplicationArn: DA_APP,
      roleArn: roleArn ?? 'arn:aws:iam::333333333333:role/IsvDataAccessorRole',
      tenantId: 'tenant-wrong',
    },
  });
  switch (mode) {
    case 'idc':
      return ConfigSchema.parse({
        ...common,
        idp: { issuer: ISSUER, clientId: 'qindex-mcp' },
        mode: {
          type: 'idc',
          idcRegion: 'us-west-2',
          idcApplicationArn: IDC_APP,
          roleArn: roleArn ?? 'arn:aws:iam::111111111111:role/QIndexMcpIdcRole',
        },
      });
    case 'data-accessor':
      return ConfigSchema.parse(dataAccessor('tti'));
    case 'data-accessor auth-code':
      return ConfigSchema.parse(dataAccessor('auth-code'));
    case 'iam-federation':
      return ConfigSchema.parse({
        ...common,
        idp: { issuer: ISSUER, clientId: 'qindex-mcp' },
        mode: { type: 'iam-federation', roleArn: 'arn:aws:iam::111111111111:role/QIndexMcpWebIdentityRole' },
      });
  }
}

/** The SDK error again: an Error with the recorded fields where the SDK puts them. */
function sdkError(shape: AwsErrorShape): Error {
  const { httpStatusCode, ...fields } = shape;
  return Object.assign(new Error(shape.message), fields, {
    ...(httpStatusCode !== undefined ? { $metadata: { httpStatusCode } } : {}),
  });
}

function mapped(r: RecordedAwsError, overrides: { roleArn?: string; message?: string } = {}): QindexError {
  const shape = overrides.message ? { ...r.error, message: overrides.message } : r.error;
  const ctx: ErrorContext = { config: configFor(r.mode, overrides.roleArn), step: r.step };
  if (r.claims) ctx.claims = r.claims;
  return toIdentityError(sdkError(shape), ctx);
}

const byId = (id: string) => {
  const r = recorded.find((x) => x.id === id);
  if (!r) throw new Error(`no recorded error ${id}: re-run tools/record-aws-errors.ts`);
  return r;
};

/** Every recorded refusal: [code, retryable]. */
const EXPECTED: Record<string, [string, boolean]> = {
  'cti-issuer-keys-unreachable': ['exchange_failed', true],
  'web-idp-unreachable': ['exchange_failed', true],
  'cti-untrusted-issuer': ['untrusted_issuer', false],
  'cti-audience-not-authorized': ['audience_not_authorized', false],
  'cti-unknown-user': ['unknown_user', false],
  'cti-assertion-expired': ['id_token_expired', true],
  'cti-assertion-bad-signature': ['exchange_failed', true],
  'cti-assertion-reused': ['assertion_reused', true],
  'cti-unknown-client': ['idc_application_invalid', false],
  'cti-wrong-region': ['idc_application_invalid', false],
  'cti-grant-not-enabled': ['idc_application_invalid', false],
  'cti-other-account': ['idc_access_denied', false],
  'cti-da-untagged-caller': ['idc_access_denied', false],
  'cti-da-missing-tenant-tag': ['tenant_mismatch', false],
  'cti-da-wrong-tenant': ['tenant_mismatch', false],
  'cti-da-auth-code-invalid': ['idc_login_required', false],
  'cti-da-refresh-token-invalid': ['idc_login_required', false],
  'cti-throttled': ['throttled', true],
  'cti-server-error': ['exchange_failed', true],
  'cti-wrong-secret-key': ['aws_credentials_invalid', false],
  'cti-unknown-access-key': ['aws_credentials_invalid', false],
  'cti-expired-session': ['aws_credentials_expired', true],
  'sts-no-set-context': ['role_trust', false],
  'sts-context-expired': ['exchange_failed', true],
  'sts-context-invalid': ['exchange_failed', false],
  'sts-untrusted-account': ['role_trust', false],
  'sts-no-tag-session': ['role_trust', false],
  'sts-duration-over-role-maximum': ['exchange_failed', false],
  'sts-throttled': ['throttled', true],
  'sts-server-error': ['exchange_failed', true],
  'sts-wrong-secret-key': ['aws_credentials_invalid', false],
  'sts-unknown-access-key': ['aws_credentials_invalid', false],
  'sts-expired-session': ['aws_credentials_expired', true],
  'web-untrusted-issuer': ['untrusted_issuer', false],
  'web-audience': ['audience_not_authorized', false],
  'web-token-expired': ['id_token_expired', true],
  'web-no-email-tag': ['missing_email_tag', false],
  'web-role-untrusted': ['role_trust', false],
  'web-bad-signature': ['exchange_failed', true],
  'web-throttled': ['throttled', true],
  'sdk-connection-refused': ['aws_unreachable', true],
  'sdk-no-credentials': ['aws_credentials_missing', false],
};

describe('identity error table, on recorded AWS error shapes', () => {
  it('has an expectation for every recorded shape and a shape for every expectation', () => {
    expect(recorded.map((r) => r.id).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(recorded.map((r) => [r.id, r] as const))('%s', (id, r) => {
    const e = mapped(r);
    const [code, retryable] = EXPECTED[id]!;
    expect({ code: e.code, retryable: e.retryable }).toEqual({ code, retryable });
    expect(e.remedy).toBeTruthy();
    expect(e.cause).toBeDefined();
    // Every message names the step, and, where AWS answered, what it said.
    expect(e.message).toContain(r.step);
    if (r.error.httpStatusCode) expect(e.message).toContain(`answered ${r.error.name}`);
  });

  it('keeps the words the end-to-end tests and doctor rely on', () => {
    expect(mapped(byId('cti-untrusted-issuer')).message).toContain(
      `application ${IDC_APP} does not trust tokens from issuer ${ISSUER}`,
    );
    expect(mapped(byId('cti-audience-not-authorized')).message).toContain(
      'The ID token audience unrelated-app is not authorized',
    );
    expect(mapped(byId('cti-unknown-user')).message).toContain(
      'no user matching the signed-in email mallory@example.com',
    );
    const tenant = mapped(byId('cti-da-wrong-tenant'));
    expect(tenant.message).toContain('The tenant id "tenant-wrong" does not match the data accessor');
    expect(tenant.remedy).toContain('mode.tenantId');
    const setContext = mapped(byId('sts-no-set-context'));
    expect(setContext.message).toContain(
      'The trust policy of role arn:aws:iam::111111111111:role/QIndexMcpIdcRole does not allow sts:SetContext',
    );
    expect(setContext.remedy).toContain('sts:AssumeRole and sts:SetContext');
    expect(mapped(byId('sts-no-tag-session')).remedy).toContain(
      'sts:AssumeRole, sts:SetContext and sts:TagSession',
    );
    expect(mapped(byId('sts-throttled')).message).toContain(
      'AWS is throttling sts:AssumeRole (identity context)',
    );
    expect(mapped(byId('cti-wrong-secret-key')).message).toContain(
      'AWS refused the base credentials for sso-oidc:CreateTokenWithIAM',
    );
    expect(mapped(byId('web-audience')).message).toContain(
      'does not accept ID tokens for audience unrelated-app',
    );
    expect(mapped(byId('sdk-no-credentials')).remedy).toContain('AWS_PROFILE');
    // sso-oidc's message is "UnknownError": the quote is AWS's error_description.
    expect(mapped(byId('cti-unknown-client')).message).toContain(
      'is not an application of an IAM Identity Center',
    );
  });

  it('a word in an ARN decides nothing: a role named "Tenant…" refusing sts:TagSession is role_trust', () => {
    const r = byId('sts-no-tag-session');
    const roleArn = 'arn:aws:iam::333333333333:role/TenantAccessRole';
    const e = mapped(r, { roleArn, message: r.error.message.replace(/arn:aws:iam::\d+:role\/\w+/, roleArn) });
    expect(e.code).toBe('role_trust');
    expect(e.message).toContain(`The trust policy of role ${roleArn} does not allow sts:TagSession`);
  });

  it('an authorization code refused as "already used" asks for a login; it is no reused ID token', () => {
    expect(byId('cti-da-auth-code-invalid').error.error_description).toMatch(/already used/);
    const e = mapped(byId('cti-da-auth-code-invalid'));
    expect(e.code).toBe('idc_login_required');
    expect(isReusedAssertion(e)).toBe(false);
  });

  it("IdC failing to fetch the issuer's keys is not an untrusted issuer", () => {
    const e = mapped(byId('cti-issuer-keys-unreachable'));
    expect(e.message).toContain(`could not fetch the signing keys of issuer ${ISSUER}`);
    expect(e.remedy).toContain('/.well-known/openid-configuration');
  });

  it('quotes AWS without a token or a long opaque value it may echo', () => {
    const r = byId('sts-context-invalid');
    const context = Buffer.from(`canary-identity-context-${'x'.repeat(60)}`).toString('base64');
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.c2lnbmF0dXJl';
    const e = mapped(r, { message: `${r.error.message} Got '${context}' and ${jwt}.` });
    expect(e.message).toContain('The provided context assertion is invalid');
    for (const secret of [context, jwt]) expect(`${e.message} ${e.remedy}`).not.toContain(secret);
  });
});

describe('isReusedAssertion', () => {
  it('is decided by the code, also on an error that wraps it', () => {
    const reused = mapped(byId('cti-assertion-reused'));
    expect(isReusedAssertion(reused)).toBe(true);
    expect(isReusedAssertion(new Error('tool call failed', { cause: reused }))).toBe(true);
    expect(
      isReusedAssertion(new QindexError('assertion_reused', 'This bearer token was already used.')),
    ).toBe(true);
  });

  it('is not fooled by words: an error that merely says "reused" is something else', () => {
    expect(isReusedAssertion(sdkError(byId('cti-assertion-reused').error))).toBe(false);
    expect(isReusedAssertion(new QindexError('exchange_failed', 'the token was reused'))).toBe(false);
    expect(isReusedAssertion(undefined)).toBe(false);
    expect(isReusedAssertion('assertion_reused')).toBe(false);
  });
});
