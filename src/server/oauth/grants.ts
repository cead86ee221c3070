/**
 * @module Upstream grants: per grant of ours, the user's upstream refresh token (sealed in the state store,
 * never handed out or logged) and whom it signs in. Every identity exchange takes a fresh upstream ID token
 * from its refresh grant under the grant's lock (across replicas with Redis); a rotated refresh token is
 * stored before it is used. A refused refresh (revoked,
 * expired, user disabled) ends the grant: our tokens for it are revoked and the next request gets 401.
 */
import { ErrorCode, QindexError, hasCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Kv } from './store.js';
import type { Upstream } from './upstream.js';

export interface UpstreamGrant {
  refreshToken: string;
  subject: string;
  email?: string;
  /** The tenant claim of the upstream ID token, when it carries one. */
  tenant?: string;
}

export interface Grants {
  /** Keeps a signed-in user's upstream grant until consent binds it to a grant of ours (or it expires). */
  savePending(id: string, grant: UpstreamGrant): Promise<void>;
  pending(id: string): Promise<UpstreamGrant | undefined>;
  dropPending(id: string): Promise<void>;
  bind(pendingId: string, grantId: string): Promise<UpstreamGrant | undefined>;
  find(grantId: string): Promise<UpstreamGrant | undefined>;
  forget(grantId: string): Promise<void>;
  /** A fresh upstream ID token for this grant (never one handed out before). */
  freshIdToken(grantId: string): Promise<string>;
}

const pendingName = (id: string) => `upstream-pending:${id}`;
const grantName = (id: string) => `upstream-grant:${id}`;

export const grantEnded = () =>
  new QindexError(ErrorCode.LoginExpired, 'The sign-in behind this token has ended; sign in again.', {
    remedy: 'Reconnect the MCP client (it signs in again).',
  });

export function createGrants(deps: {
  kv: Kv;
  upstream: Upstream;
  logger: Logger;
  pendingSeconds: number;
  grantSeconds: number;
  /** Revokes every token of ours for the grant (the upstream refresh failed for good). */
  revoke(grantId: string): Promise<void>;
}): Grants {
  const { kv, upstream, logger } = deps;
  const read = async (name: string) => {
    const text = await kv.get(name);
    return text ? (JSON.parse(text) as UpstreamGrant) : undefined;
  };
  const write = (grantId: string, g: UpstreamGrant) =>
    kv.set(grantName(grantId), JSON.stringify(g), deps.grantSeconds);

  return {
    savePending: (id, grant) => kv.set(pendingName(id), JSON.stringify(grant), deps.pendingSeconds),
    pending: (id) => read(pendingName(id)),
    dropPending: (id) => kv.del(pendingName(id)),
    async bind(pendingId, grantId) {
      const g = await read(pendingName(pendingId));
      if (!g) return undefined;
      await write(grantId, g);
      await kv.del(pendingName(pendingId));
      return g;
    },
    find: (grantId) => read(grantName(grantId)),
    forget: (grantId) => kv.del(grantName(grantId)),
    freshIdToken(grantId) {
      return kv.withLock(grantName(grantId), async () => {
        const g = await read(grantName(grantId));
        if (!g) throw grantEnded();
        try {
          const tokens = await upstream.refresh(g.refreshToken, async (rotated) => {
            // Stored before anything else: once the IdP answered, this is the grant's only refresh token.
            g.refreshToken = rotated.refreshToken;
            await write(grantId, g);
          });
          if (tokens.claims.sub !== g.subject) throw grantEnded();
          return tokens.idToken;
        } catch (e) {
          // Only the IdP's "no" to this grant ends it: a client misconfiguration (invalid_client) or an
          // outage is the operator's to fix, and must not sign every user out.
          if (hasCode(e, ErrorCode.LoginExpired)) {
            logger.info({ grant: grantId.slice(0, 8) }, 'upstream refresh refused: the grant ends');
            await kv.del(grantName(grantId));
            await deps.revoke(grantId);
            throw grantEnded();
          }
          throw e;
        }
      });
    },
  };
}
