/**
 * @module Unit tests of tenant resolution: the tenant claim picks that tenant's data-accessor settings
 * (its own application, retriever, tenant id and IdC application, the base ones where it names none),
 * and a token naming no configured tenant is refused with unknown_tenant.
 */
import { describe, expect, it } from 'vitest';
import { ConfigFieldsSchema, ConfigSchema, type QindexConfigInput } from '../../config/schema.js';
import { ErrorCode, QindexError } from '../../errors.js';
import { createTenantResolver } from './tenants.js';

const ids = (n: number) => ({
  applicationId: `a${n}b2c3d4-5678-90ab-cdef-11111111111${n}`,
  retrieverId: `ret0000${n}-0000-4000-8000-000000000001`,
});

const base = {
  idp: { issuer: 'https://idp.example.com', clientId: 'qindex-mcp' },
  mode: {
    type: 'data-accessor',
    idcRegion: 'us-east-1',
    idcApplicationArn: 'arn:aws:sso::111111111111:application/ssoins-base/apl-base',
    roleArn: 'arn:aws:iam::111111111111:role/IsvRole',
    tenantId: 'base-tenant',
  },
  q: { region: 'us-east-1', ...ids(0), indexId: 'idx00000-0000-4000-8000-000000000001', timeoutSeconds: 12 },
} satisfies QindexConfigInput;

const tenants = {
  acme: {
    tenantId: 'acme-id',
    idcApplicationArn: 'arn:aws:sso::222222222222:application/ssoins-acme/apl-acme',
    ...ids(1),
  },
  globex: {
    tenantId: 'globex-id',
    idcApplicationArn: 'arn:aws:sso::333333333333:application/ssoins-globex/apl-globex',
    ...ids(2),
    region: 'eu-west-1',
    idcRegion: 'eu-central-1',
    roleArn: 'arn:aws:iam::111111111111:role/GlobexRole',
  },
};

const withTenants = (http: Record<string, unknown> = {}) =>
  ConfigSchema.parse({
    ...base,
    http: { auth: 'bearer', resource: 'https://mcp.example.com/mcp', tenants, ...http },
  });

function refusal(fn: () => unknown): QindexError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(QindexError);
    return e as QindexError;
  }
  throw new Error('expected a refusal');
}

describe('tenant resolver without tenants', () => {
  it('serves the one configuration whatever the token says', () => {
    const config = ConfigSchema.parse(base);
    const resolve = createTenantResolver(config);
    expect(resolve({})).toEqual({ name: undefined, config });
    expect(resolve({ tenant: 'acme' }).config).toBe(config);
    expect(resolve.configOf(undefined)).toBe(config);
    expect(resolve.configOf('acme')).toBe(config);
  });
});

describe('tenant resolver with tenants', () => {
  it("picks the named tenant's application, retriever, tenant id and IdC application", () => {
    const config = withTenants();
    const acme = createTenantResolver(config)({ sub: 'u1', tenant: 'acme' });
    expect(acme.name).toBe('acme');
    expect(acme.config.q).toEqual({ region: 'us-east-1', ...ids(1), timeoutSeconds: 12 });
    expect(acme.config.mode).toEqual({
      ...config.mode,
      tenantId: 'acme-id',
      idcApplicationArn: tenants.acme.idcApplicationArn,
      idcRegion: 'us-east-1',
      roleArn: 'arn:aws:iam::111111111111:role/IsvRole',
    });
    // Everything that is not per tenant is the deployment's.
    expect(acme.config.idp).toBe(config.idp);
    expect(acme.config.http).toBe(config.http);
  });

  it("uses a tenant's own regions and role where it names them", () => {
    const globex = createTenantResolver(withTenants())({ tenant: 'globex' });
    expect(globex.config.q.region).toBe('eu-west-1');
    expect(globex.config.mode).toMatchObject({
      idcRegion: 'eu-central-1',
      roleArn: 'arn:aws:iam::111111111111:role/GlobexRole',
      tenantId: 'globex-id',
    });
  });

  it("never carries the base application's index id into a tenant", () => {
    const acme = createTenantResolver(withTenants())({ tenant: 'acme' });
    expect(acme.config.q.indexId).toBeUndefined();
  });

  it('keeps tenants apart and leaves the base configuration as it was', () => {
    const config = withTenants();
    const snapshot = structuredClone(config);
    const resolve = createTenantResolver(config);
    const acme = resolve({ tenant: 'acme' });
    const globex = resolve({ tenant: 'globex' });
    expect(acme.config.q.applicationId).not.toBe(globex.config.q.applicationId);
    // http.tenants stays whole in each tenant's config; what is used for Q and AWS is the tenant's own.
    expect(JSON.stringify([acme.config.q, acme.config.mode])).not.toMatch(/globex|GlobexRole|333333333333/);
    expect(resolve({ tenant: 'acme' })).toBe(acme);
    expect(config).toEqual(snapshot);
  });

  it('reads the configured claim', () => {
    const resolve = createTenantResolver(withTenants({ tenantClaim: 'org' }));
    expect(resolve({ org: 'globex', tenant: 'acme' }).name).toBe('globex');
    const e = refusal(() => resolve({ tenant: 'acme' }));
    expect(e.code).toBe(ErrorCode.UnknownTenant);
    expect(e.message).toContain('"org"');
  });

  it('refuses a token without a usable tenant claim, naming the claim', () => {
    const resolve = createTenantResolver(withTenants());
    for (const claims of [{}, { tenant: '' }, { tenant: 42 }, { tenant: ['acme'] }]) {
      const e = refusal(() => resolve(claims));
      expect(e.code, JSON.stringify(claims)).toBe(ErrorCode.UnknownTenant);
      expect(e.message).toContain('"tenant" claim');
      expect(e.remedy).toContain('"tenant"');
    }
  });

  it('refuses a tenant the deployment does not serve, inherited object keys included', () => {
    const resolve = createTenantResolver(withTenants());
    for (const tenant of ['initech', 'ACME', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const e = refusal(() => resolve({ tenant }));
      expect(e.code, tenant).toBe(ErrorCode.UnknownTenant);
      expect(e.message).toBe('The token names a tenant this deployment does not serve.');
      // The claim value is the caller's text: not echoed back.
      expect(e.message).not.toContain(tenant);
    }
  });

  it("gives each tenant's configuration by name, and the base one otherwise", () => {
    const config = withTenants();
    const resolve = createTenantResolver(config);
    expect(resolve.configOf('acme')).toBe(resolve({ tenant: 'acme' }).config);
    expect(resolve.configOf(undefined)).toBe(config);
    expect(resolve.configOf('initech')).toBe(config);
  });

  it('is refused outside data-accessor mode, with the remedy', () => {
    // The schema's cross-field rules refuse this too; the resolver does not rely on them.
    const config = ConfigFieldsSchema.parse({
      ...base,
      mode: { type: 'iam-federation', roleArn: 'arn:aws:iam::111111111111:role/R' },
      http: { auth: 'bearer', resource: 'https://mcp.example.com/mcp', tenants },
    });
    const e = refusal(() => createTenantResolver(config));
    expect(e.code).toBe(ErrorCode.ConfigInvalid);
    expect(e.message).toContain('data-accessor');
    expect(e.remedy).toContain('http.tenants');
  });
});
