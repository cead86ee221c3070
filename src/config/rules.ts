/**
 * @module The rules across fields of the configuration, as one zod refinement of the schema: a field
 * that is valid alone but not with another (bearer without a resource, local mode off loopback, tenants
 * outside data-accessor mode) is reported when the configuration is loaded, by `doctor` as by `serve`,
 * naming the field, never only when the server starts.
 */
import type { z } from 'zod';
import type { HttpConfig } from './http.js';
import { isLoopback } from './loopback.js';

/** Marks the issues of these rules (params), which load.ts renders as sentences of their own. */
export const RULE = 'crossField';

/** The part the rules read; `mode` is unknown where only the sign-in part is required (login). */
interface RuleInput {
  mode?: unknown;
  http?: HttpConfig | undefined;
}

/**
 * Adds one issue per broken rule, at the path of the field to change. The message follows the field
 * and its value in load.ts's rendering ("http.host (from flag --host) is "0.0.0.0": …").
 */
export function crossFieldRules(config: RuleInput, ctx: z.RefinementCtx<RuleInput>): void {
  const http = config.http;
  if (!http) return;
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: path.split('.'), message, params: { [RULE]: true } });
  const bearer = http.auth === 'bearer';
  const oauth = http.auth === 'oauth';
  if (bearer && !http.resource) {
    issue(
      'http.resource',
      'http.auth "bearer" needs it: this server\'s public URL (e.g. https://mcp.example.com/mcp), the audience bearer tokens must carry',
    );
  }
  // Local mode has no authentication (a Host header is no credential): off loopback, anyone who can
  // reach the port would act as the signed-in user.
  if (oauth && !http.resource && !isLoopback(http.host)) {
    issue(
      'http.resource',
      'http.auth "oauth" off loopback needs it: this server\'s public URL (e.g. https://mcp.example.com/mcp), the audience of the tokens it issues and the origin of its issuer',
    );
  }
  if (oauth && http.oauth.issuer && new URL(http.oauth.issuer).pathname !== '/') {
    issue(
      'http.oauth.issuer',
      'the authorization server serves /oauth/* and /.well-known/* at the root of its origin, so its issuer is an origin without a path (e.g. https://mcp.example.com)',
    );
  }
  if (oauth && http.oauth.registration.policy === 'token' && !http.oauth.registration.initialAccessToken) {
    issue(
      'http.oauth.registration.initialAccessToken',
      'http.oauth.registration.policy "token" needs it (or env QINDEX_OAUTH_REGISTRATION_TOKEN): the initial access token clients present to register, e.g. `openssl rand -base64 32`',
    );
  }
  if (http.auth === 'none' && !isLoopback(http.host)) {
    issue(
      'http.host',
      'local HTTP mode (http.auth "none") serves the signed-in user without authentication, so it binds loopback only (127.0.0.1, ::1, localhost); drop it, or serve many users with http.auth "bearer"',
    );
  }
  if ((bearer || oauth) && http.redisUrl && !http.cacheKey) {
    issue(
      'http.cacheKey',
      'http.redisUrl needs it: base64 of 32 random bytes encrypting the shared credential cache and oauth state (`openssl rand -base64 32`), the same on every replica',
    );
  }
  if (http.tenants) {
    const type = (config.mode as { type?: unknown } | undefined)?.type;
    if (type !== undefined && type !== 'data-accessor') {
      issue(
        'mode.type',
        'http.tenants needs mode.type "data-accessor" (each tenant is a data accessor of its customer\'s Q Business application); change it, or remove http.tenants',
      );
    }
    if (!bearer && !oauth) {
      issue(
        'http.auth',
        'http.tenants needs http.auth "bearer" or "oauth": the tenant comes from a claim of the user\'s token',
      );
    }
  }
}
