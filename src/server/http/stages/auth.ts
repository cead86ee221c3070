/**
 * @module The auth stage: who is calling. Local mode serves the profile's signed-in user; bearer mode
 * verifies the request's JWT (401 with a WWW-Authenticate challenge pointing at the protected-resource
 * metadata), resolves its tenant (403 for one this deployment does not serve) and finds the user's cached
 * context. An unreachable IdP propagates (503 at the edge).
 */
import type { IncomingMessage } from 'node:http';
import { ErrorCode, findCode, renderError } from '../../../errors.js';
import type { Logger } from '../../../log.js';
import type { ToolCaller, ToolContext } from '../../../tools/context.js';
import { bearerToken, type BearerVerifier, type VerifiedToken } from '../bearer.js';
import { HttpError, RPC } from '../http-error.js';
import { wwwAuthenticate, type BearerErrorCode } from '../metadata.js';
import { headerOf } from './request.js';
import type { TenantResolver } from '../tenants.js';
import type { UserCache, UserEntry } from '../user-cache.js';
import type { UserContext } from '../user-context.js';

export interface Principal {
  /** Owner key of sessions and concurrency slots; 'local' in one-user mode. */
  key: string;
  ctx: ToolContext;
  /** Bearer mode: the user's credential provider, warmed before a tool call. */
  credentials?: UserContext['credentials'];
}

export type Authenticate = (req: Pick<IncomingMessage, 'headers'>) => Promise<Principal>;

/** 401 with the challenge (RFC 6750 §3); the JSON-RPC body carries the description for MCP clients. */
export function unauthorized(
  resource: string,
  error?: { code: BearerErrorCode; description: string },
): HttpError {
  return new HttpError(401, error?.description ?? 'Authorization required: send a bearer token.', {
    rpcCode: RPC.unauthorized,
    headers: { 'www-authenticate': wwwAuthenticate(resource, error) },
  });
}

/** 401 for a token IdC already took as an assertion: the client fetches a fresh one and retries. */
export const reusedToken = (resource: string) =>
  unauthorized(resource, {
    code: 'invalid_token',
    description: 'This token was already used for a credential exchange; present a fresh token.',
  });

/** Local mode: every request is the profile's signed-in user (the origin stage keeps web pages out). */
export function localAuth(ctx: ToolContext): Authenticate {
  const principal: Principal = { key: 'local', ctx };
  return () => Promise.resolve(principal);
}

export function bearerAuth(options: {
  verify: BearerVerifier;
  /** This server's resource URL, named in the challenge. */
  resource: string;
  tenantOf: TenantResolver;
  users: UserCache<UserContext>;
  /** Gets the detail of a refusal the remote caller sees by reference only. */
  logger: Logger;
}): Authenticate {
  const { verify, resource, tenantOf, users, logger } = options;
  return async (req) => {
    const presented = bearerToken(headerOf(req, 'authorization'));
    if (!presented) throw unauthorized(resource);
    let token: VerifiedToken;
    try {
      token = await verify(presented);
    } catch (e) {
      const refused = findCode(e, ErrorCode.InvalidToken);
      if (refused) {
        throw unauthorized(resource, { code: 'invalid_token', description: refused.message });
      }
      throw e;
    }
    let tenant: string | undefined;
    try {
      tenant = tenantOf(token.claims).name;
    } catch (e) {
      throw new HttpError(403, renderError(e, { audience: 'remote', logger }).text, { cause: e });
    }
    const entry = users.get(token, tenant);
    const caller = { ...(tenant ? { tenant } : {}), user: entry.key, ...clientOf(token) };
    return {
      key: entry.key,
      ctx: liveContext(users, entry, caller),
      credentials: entry.context.credentials,
    };
  };
}

/**
 * A session outlives a request and may outlive the user's cache entry: its context reads the user's
 * current entry on each use, so it always runs on the newest token and credentials of that user.
 */
function liveContext(
  users: UserCache<UserContext>,
  entry: UserEntry<UserContext>,
  caller: ToolCaller,
): ToolContext {
  const current = () => (users.peek(entry.key) ?? entry).context.context;
  return {
    get config() {
      return current().config;
    },
    get q() {
      return current().q;
    },
    get logger() {
      return current().logger;
    },
    audience: 'remote',
    caller,
    user: () => current().user(),
  };
}

/** The OAuth client a token was issued to (RFC 9068 client_id, OIDC azp): a bounded, non-personal id. */
function clientOf(token: VerifiedToken): { client?: string } {
  const id = token.claims.client_id ?? token.claims.azp;
  return typeof id === 'string' && id.length <= 256 ? { client: id } : {};
}
