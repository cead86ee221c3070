/**
 * @module iam-federation mode (design 2d) against the sandbox: signed-in profile → AssumeRoleWithWebIdentity
 * → credentials STS and Q accept; typed errors for an unauthorized audience and a revoked login.
 */
import { describe, expect, it } from 'vitest';
import { isQindexError } from '../../src/errors.js';
import { useSandbox } from '../helpers/sandbox.js';
import { callerArn, countersSince, search, signedIn } from './harness.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();

describe('iam-federation', () => {
  it('exchanges a fresh ID token for role credentials that STS and Q accept', async () => {
    const sb = sandbox();
    const { config, control, provider } = await signedIn(sb, 'iam-federation', 'alice');
    const before = await control.counters();
    const creds = await provider();
    expect(creds.sessionToken).toBeTruthy();
    expect(creds.expiration!.getTime()).toBeGreaterThan(Date.now());
    expect(await callerArn(config, creds)).toMatch(
      /assumed-role\/QIndexMcpWebIdentityRole\/qindex-mcp-alice@example\.com$/,
    );
    const found = await search(config, creds, 'vacation policy');
    expect(Array.isArray(found.relevantContent)).toBe(true);
    const delta = await countersSince(control, before);
    expect(delta['sts:AssumeRoleWithWebIdentity']).toBe(1);
    expect(provider.identity()).toMatchObject({
      mode: 'iam-federation',
      subject: subjectOf('alice'),
      email: 'alice@example.com',
    });
  });

  it('a client id the role does not trust: audience_not_authorized', async () => {
    const sb = sandbox();
    const { provider } = await signedIn(sb, 'iam-federation', 'bob', {
      overrides: { idp: { clientId: sb.description.clients.other } },
    });
    const e = await provider().catch((err: unknown) => err);
    expect(isQindexError(e) && e.code).toBe('audience_not_authorized');
    expect((e as Error).message).toContain('does not accept ID tokens for audience unrelated-app');
  });

  it('a revoked login: login_expired, with the command to sign in again', async () => {
    const sb = sandbox();
    const { provider, control } = await signedIn(sb, 'iam-federation', 'carol', {
      overrides: { profile: 'work' },
    });
    await control.revokeUser('carol');
    const e = await provider().catch((err: unknown) => err);
    expect(isQindexError(e) && e.code).toMatch(/^(login_expired|not_signed_in)$/);
    expect((e as { remedy?: string }).remedy).toContain('qindex-mcp login --profile work');
  });
});
