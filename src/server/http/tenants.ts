/**
 * @module Tenants of one ISV deployment: the tenant is read from a documented claim of the bearer token
 * and picks that customer's data-accessor settings. A claim naming no configured tenant is refused (403),
 * so a user of tenant A can never be served with tenant B's application, retriever or IdC application.
 */
import type { JWTPayload } from 'jose';
import type { QindexConfig } from '../../config/schema.js';
import { ErrorCode, QindexError } from '../../errors.js';

export interface Tenant {
  /** The claim value (key of `http.tenants`); undefined when the deployment has no tenants. */
  name: string | undefined;
  config: QindexConfig;
}

export interface TenantResolver {
  /** The token's tenant; throws QindexError `unknown_tenant` (answered 403) when it names none configured. */
  (claims: JWTPayload): Tenant;
  /** The configuration of a tenant `resolve` returned (the base one for `undefined`). */
  configOf(name: string | undefined): QindexConfig;
}

export function createTenantResolver(config: QindexConfig): TenantResolver {
  const http = config.http;
  if (!http?.tenants) {
    const single: Tenant = { name: undefined, config };
    return Object.assign(() => single, { configOf: () => config });
  }
  const mode = config.mode;
  if (mode.type !== 'data-accessor') {
    throw new QindexError(ErrorCode.ConfigInvalid, 'http.tenants needs mode.type "data-accessor".', {
      remedy: 'Set mode.type to data-accessor, or remove http.tenants.',
    });
  }
  const tenants = new Map<string, Tenant>();
  for (const [name, t] of Object.entries(http.tenants)) {
    tenants.set(name, {
      name,
      config: {
        ...config,
        mode: {
          ...mode,
          tenantId: t.tenantId,
          idcApplicationArn: t.idcApplicationArn,
          idcRegion: t.idcRegion ?? mode.idcRegion,
          roleArn: t.roleArn ?? mode.roleArn,
        },
        q: {
          region: t.region ?? config.q.region,
          applicationId: t.applicationId,
          retrieverId: t.retrieverId,
          timeoutSeconds: config.q.timeoutSeconds,
        },
      },
    });
  }
  const claim = http.tenantClaim;
  const resolve = (claims: JWTPayload): Tenant => {
    const value = claims[claim];
    if (typeof value !== 'string' || value === '') {
      throw new QindexError(
        ErrorCode.UnknownTenant,
        `The token carries no "${claim}" claim naming a tenant.`,
        {
          remedy: `Issue tokens with a "${claim}" claim naming one of this deployment's tenants.`,
        },
      );
    }
    const tenant = Object.hasOwn(http.tenants!, value) ? tenants.get(value) : undefined;
    if (!tenant) {
      throw new QindexError(
        ErrorCode.UnknownTenant,
        'The token names a tenant this deployment does not serve.',
        {
          remedy: 'Ask the operator to configure the tenant under http.tenants.',
        },
      );
    }
    return tenant;
  };
  return Object.assign(resolve, {
    configOf: (name: string | undefined) => (name !== undefined && tenants.get(name)?.config) || config,
  });
}
