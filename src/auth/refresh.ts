/**
 * @module The refresh-token grant: a new, validated ID token every call (never a cached one: AWS may refuse
 * a reused assertion), and the rotated refresh token when the IdP rotates. A dead refresh token becomes
 * `login_expired` with the command that fixes it.
 */
import * as client from 'openid-client';
import { oidcError, type Oidc } from './oidc.js';
import { toTokenSet, type TokenSet } from './tokens.js';

export async function refreshGrant(oidc: Oidc, refreshToken: string, profile: string): Promise<TokenSet> {
  const configuration = await oidc.configuration();
  const url = configuration.serverMetadata().token_endpoint ?? oidc.issuer;
  let response: client.TokenEndpointResponse;
  try {
    response = await client.refreshTokenGrant(configuration, refreshToken);
  } catch (e) {
    throw oidcError(e, { action: 'refresh', url, issuer: oidc.issuer, clientId: oidc.clientId, profile });
  }
  return toTokenSet(oidc, response, { requireRefreshToken: false });
}
