/**
 * @module data-accessor mode, TTI grant (design 2b), against the sandbox: the ISV's tenant-tagged
 * session, CreateTokenWithIAM at the customer's IdC, the second AssumeRole with context and tag, then
 * SearchRelevantContent; per-tenant isolation; wrong tenant id and a role without sts:TagSession.
 */
import { describe, expect, it } from 'vitest';
import { isQindexError, type QindexError } from '../../src/errors.js';
import { useSandbox } from '../helpers/sandbox.js';
import { callerArn, countersSince, search, signedIn } from './harness.js';

const sandbox = useSandbox();

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => {
      expect(isQindexError(e)).toBe(true);
      return e as QindexError;
    },
  );

describe('data-accessor (tti)', () => {
  it('ISV IdP token → tagged AssumeRole → CreateTokenWithIAM → AssumeRole with context → SearchRelevantContent', async () => {
    const sb = sandbox();
    const { config, control, provider } = await signedIn(sb, 'data-accessor', 'alice');
    const before = await control.counters();
    const creds = await provider();
    expect(await callerArn(config, creds)).toMatch(
      /assumed-role\/IsvDataAccessorRole\/qindex-mcp-alice@example\.com$/,
    );
    const found = await search(config, creds, 'policy');
    expect(Array.isArray(found.relevantContent)).toBe(true);
    const delta = await countersSince(control, before);
    expect(delta['idp:token']).toBe(1);
    expect(delta['sts:AssumeRole']).toBe(2);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(1);
    expect(delta['qbusiness:SearchRelevantContent']).toBe(1);
    expect(provider.identity()).toMatchObject({ mode: 'data-accessor', email: 'alice@example.com' });
  });

  it('50 concurrent callers: one chain; the session works only for its own tenant', async () => {
    const sb = sandbox();
    const globex = sb.description.modes.dataAccessorTenants[1]!;
    const { config, control, provider } = await signedIn(sb, 'data-accessor', 'bob', {
      overrides: {
        mode: { idcApplicationArn: globex.idcApplicationArn, tenantId: globex.tenantId },
        q: { applicationId: globex.applicationId, retrieverId: globex.retrieverId, indexId: globex.indexId },
      },
    });
    const before = await control.counters();
    const all = await Promise.all(Array.from({ length: 50 }, () => provider()));
    expect(new Set(all.map((c) => c.accessKeyId)).size).toBe(1);
    const delta = await countersSince(control, before);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(1);
    expect(delta['sts:AssumeRole']).toBe(2);
    await expect(search(config, all[0]!, 'policy')).resolves.toBeDefined();
    const acme = sb.description.modes.dataAccessor;
    const other = {
      ...config,
      q: { ...config.q, applicationId: acme.applicationId, retrieverId: acme.retrieverId },
    };
    await expect(search(other, all[0]!, 'policy')).rejects.toThrow();
  });

  it('a tenant id that does not match the data accessor: tenant_mismatch', async () => {
    const { provider } = await signedIn(sandbox(), 'data-accessor', 'alice', {
      overrides: { mode: { tenantId: 'tenant-wrong' } },
    });
    const e = await failure(provider());
    expect(e.code).toBe('tenant_mismatch');
    expect(e.message).toContain('The tenant id "tenant-wrong" does not match the data accessor');
    expect(e.remedy).toContain('mode.tenantId');
  });

  it("the ISV role's trust policy lacks sts:TagSession: role_trust", async () => {
    const sb = sandbox();
    const roleArn = sb.world.roles.find((r) => r.name === 'IsvNoTagSessionRole')!.arn;
    const { provider } = await signedIn(sb, 'data-accessor', 'alice', { overrides: { mode: { roleArn } } });
    const e = await failure(provider());
    expect(e.code).toBe('role_trust');
    expect(e.message).toContain(`The trust policy of role ${roleArn} does not allow sts:TagSession`);
    expect(e.remedy).toContain('sts:AssumeRole, sts:SetContext and sts:TagSession');
  });
});
