/**
 * @module Tokens and device approvals made through oidc-provider's own models (for the control
 * API): a minted refresh token is a real Grant + RefreshToken, so the token endpoint accepts it,
 * rotates it and forgets it on revocation, exactly like one from a login.
 */
import type Provider from 'oidc-provider';
import { findUser, type World } from '../world.js';
import type { IdpStore } from './store.js';
import { subjectOf } from './claims.js';

export const DEFAULT_REFRESH_SCOPE = 'openid email profile offline_access';
/** The one scope a resource server (e.g. the MCP HTTP transport) offers. */
export const RESOURCE_SCOPE = 'mcp';

/** Thrown for bad control input (unknown user or client); the control API turns it into a 400. */
export class IdpInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** oidc-provider stores user codes without the mask's dash, upper case. */
export const normalizeUserCode = (code: string) => code.toUpperCase().replace(/\W/g, '');

export function createIdpTokens(provider: Provider, world: World, store: IdpStore) {
  const userOf = (username: string) => {
    const user = findUser(world, username);
    if (!user) throw new IdpInputError('username', `no user named '${username}' in the sandbox world`);
    return user;
  };
  const clientOf = async (clientId: string) => {
    const client = await provider.Client.find(clientId);
    if (!client) throw new IdpInputError('clientId', `no client '${clientId}' at the sandbox IdP`);
    return client;
  };
  const pendingDevice = async (userCode: string) => {
    const code = await provider.DeviceCode.findByUserCode(normalizeUserCode(userCode));
    return code && !code.accountId && !code.error && !code.isExpired ? code : undefined;
  };

  return {
    async mintRefreshToken(opts: { username: string; clientId?: string; scope?: string }) {
      const accountId = subjectOf(userOf(opts.username).username);
      const client = await clientOf(opts.clientId ?? world.clients.native);
      const scope = opts.scope ?? DEFAULT_REFRESH_SCOPE;
      if (!scope.split(' ').includes('offline_access')) {
        throw new IdpInputError('scope', 'a refresh token needs the offline_access scope');
      }
      const grant = new provider.Grant({ accountId, clientId: client.clientId });
      grant.addOIDCScope(scope);
      const grantId = await grant.save();
      const token = new provider.RefreshToken({
        accountId,
        client,
        grantId,
        gty: 'authorization_code',
        scope,
        rotations: 0,
        authTime: Math.floor(Date.now() / 1000),
        expiresWithSession: false,
      });
      return token.save();
    },

    async mintAccessToken(opts: { username: string; resource?: string; clientId?: string }) {
      const accountId = subjectOf(userOf(opts.username).username);
      const client = await clientOf(opts.clientId ?? world.clients.native);
      const resource = opts.resource ?? world.mcpResource;
      const grant = new provider.Grant({ accountId, clientId: client.clientId });
      grant.addOIDCScope('openid');
      grant.addResourceScope(resource, RESOURCE_SCOPE);
      const grantId = await grant.save();
      const token = new provider.AccessToken({
        accountId,
        client,
        grantId,
        gty: 'authorization_code',
        scope: RESOURCE_SCOPE,
        expiresWithSession: false,
      });
      const ResourceServer = (
        provider as unknown as { ResourceServer: new (id: string, info: object) => never }
      ).ResourceServer;
      token.resourceServer = new ResourceServer(resource, {
        scope: RESOURCE_SCOPE,
        audience: resource,
        accessTokenTTL: 15 * 60,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      });
      return token.save();
    },

    async approveDevice(opts: { userCode: string; username: string }) {
      const accountId = subjectOf(userOf(opts.username).username);
      const code = await pendingDevice(opts.userCode);
      if (!code) return false;
      const params = code.params as { client_id: string; scope?: string; resource?: string };
      const scope = params.scope ?? 'openid';
      const grant = new provider.Grant({ accountId, clientId: params.client_id });
      grant.addOIDCScope(scope);
      if (params.resource) grant.addResourceScope(params.resource, RESOURCE_SCOPE);
      Object.assign(code, {
        accountId,
        authTime: Math.floor(Date.now() / 1000),
        amr: ['pwd'],
        grantId: await grant.save(),
        scope,
        resource: params.resource,
        expiresWithSession: false,
      });
      await code.save();
      return true;
    },

    async denyDevice(opts: { userCode: string }) {
      const code = await pendingDevice(opts.userCode);
      if (!code) return false;
      Object.assign(code, { error: 'access_denied', errorDescription: 'the user denied the request' });
      await code.save();
      return true;
    },

    async expireDevice(opts: { userCode: string }) {
      const code = await pendingDevice(opts.userCode);
      if (!code) return false;
      const payload = store.payload('DeviceCode', code.jti);
      if (payload) payload.exp = Math.floor(Date.now() / 1000) - 1;
      return !!payload;
    },
  };
}
