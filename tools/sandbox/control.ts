/**
 * @module The sandbox control API: JSON over HTTP on loopback, for tests, benchmarks and people.
 * Mints tokens, approves device codes, arms faults, flips switches, expires sessions, revokes
 * users, reads counters and resets state. Every route and body is documented in README.md.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { findUser, type World } from './world.js';
import { expireAllSessions, resetState, type SandboxState } from './state.js';
import type { IdpKeys } from './idp/keys.js';
import type { IdpControl } from './idp/provider.js';
import type { CognitoControl } from './cognito/provider.js';
import { IdpInputError } from './idp/tokens.js';
import { mintIdToken } from './idp/mint.js';
import type { SandboxDescription } from './description.js';

const count = z.number().int().min(0);
const username = z.string().min(1);

export const FaultBody = z.strictObject({
  operation: z.string().regex(/^(sts|sso-oauth|idc|qbusiness|idp|cognito):[A-Za-z]+$/, {
    message:
      'expected <service>:<Operation>, e.g. qbusiness:SearchRelevantContent, idp:token or cognito:token',
  }),
  throttle: count.optional(),
  serverError: count.optional(),
  latencyMs: z.number().int().min(0).max(120_000).optional(),
  cutStream: count.optional(),
  stallMs: z.number().int().min(0).max(120_000).optional(),
  retryAfter: z.string().min(1).max(64).optional(),
  error: z
    .strictObject({
      code: z.string().min(1),
      message: z.string(),
      status: z.number().int().min(400).max(599),
      count: count,
    })
    .optional(),
});

const bodies = {
  idToken: z.strictObject({
    username,
    audience: z.string().min(1).optional(),
    ttlSeconds: z.number().int().optional(),
    nonce: z.string().optional(),
    /** `null` removes a claim (JSON has no undefined). */
    claims: z.record(z.string(), z.unknown()).optional(),
  }),
  refresh: z.strictObject({
    username,
    clientId: z.string().min(1).optional(),
    scope: z.string().min(1).optional(),
  }),
  access: z.strictObject({
    username,
    resource: z.url().optional(),
    clientId: z.string().min(1).optional(),
  }),
  approve: z.strictObject({ userCode: z.string().min(1), username }),
  userCode: z.strictObject({ userCode: z.string().min(1) }),
  switches: z.strictObject({
    singleUseAssertions: z.boolean().optional(),
    subscriptionQuirk: z.boolean().optional(),
    refreshGrantIdentityContext: z.boolean().optional(),
    idpDown: z.boolean().optional(),
    refreshReuseGraceSeconds: z.number().int().min(0).max(3600).optional(),
    cognitoRotateRefreshTokens: z.boolean().optional(),
  }),
  callbackUrl: z.strictObject({
    url: z.url({ protocol: /^https?$/ }).refine((u) => !u.includes('#'), 'a callback URL has no fragment'),
  }),
  empty: z.strictObject({}),
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ControlDeps {
  world: World;
  state: SandboxState;
  keys: IdpKeys;
  idp: IdpControl;
  cognito: CognitoControl;
  host: string;
  port?: number;
  /** The sandbox description; a getter because it names this server's own URL. */
  description?: () => SandboxDescription | undefined;
}

type Handler = (body: unknown, params: string[]) => Promise<unknown> | unknown;

export async function startControl(deps: ControlDeps): Promise<{ url: string; close(): Promise<void> }> {
  const routes = controlRoutes(deps);
  const server = createServer((req, res) => {
    if (!isLoopback(req.socket.remoteAddress)) {
      return sendJson(res, 403, {
        error: 'forbidden',
        message: 'the control API answers loopback callers only',
      });
    }
    serve(routes, req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', String(err));
      sendJson(res, e.status, { error: e.code, message: e.message });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port ?? 0, deps.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${deps.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function controlRoutes(deps: ControlDeps): Array<[string, RegExp, Handler]> {
  const { world, state, keys, idp, cognito } = deps;
  const parse = <T extends z.ZodType>(schema: T, body: unknown): z.infer<T> => {
    const result = schema.safeParse(body ?? {});
    if (result.success) return result.data;
    const issue = result.error.issues[0]!;
    const field = issue.path.length
      ? issue.path.join('.')
      : issue.code === 'unrecognized_keys'
        ? issue.keys.join(', ')
        : 'body';
    throw new HttpError(400, 'invalid_request', `${field}: ${issue.message}`);
  };
  const user = (name: string) => {
    const u = findUser(world, name);
    if (!u) throw new HttpError(400, 'invalid_request', `username: no user named '${name}'`);
    return u;
  };
  const device = (found: boolean, userCode: string) => {
    if (!found)
      throw new HttpError(404, 'not_found', `userCode: no pending device authorization '${userCode}'`);
    return { ok: true };
  };

  return [
    ['POST', /^\/reset$/, (b) => (parse(bodies.empty, b), resetState(state), { ok: true })],
    [
      'GET',
      /^\/describe$/,
      () => {
        const description = deps.description?.();
        if (!description) throw new HttpError(503, 'not_ready', 'the sandbox is still starting');
        return description;
      },
    ],
    [
      'POST',
      /^\/tokens\/id$/,
      async (b) => {
        const o = parse(bodies.idToken, b);
        const claims =
          o.claims && Object.fromEntries(Object.entries(o.claims).map(([k, v]) => [k, v ?? undefined]));
        const idToken = await mintIdToken(world.issuer, keys, user(o.username), {
          audience: o.audience ?? world.clients.native,
          ttlSeconds: o.ttlSeconds,
          nonce: o.nonce,
          claims,
        });
        return { idToken };
      },
    ],
    [
      'POST',
      /^\/tokens\/refresh$/,
      async (b) => ({ refreshToken: await idp.mintRefreshToken(parse(bodies.refresh, b)) }),
    ],
    [
      'POST',
      /^\/tokens\/access$/,
      async (b) => ({ accessToken: await idp.mintAccessToken(parse(bodies.access, b)) }),
    ],
    [
      'POST',
      /^\/device\/approve$/,
      async (b) => {
        const o = parse(bodies.approve, b);
        user(o.username);
        return device(await idp.approveDevice(o), o.userCode);
      },
    ],
    [
      'POST',
      /^\/device\/deny$/,
      async (b) => {
        const o = parse(bodies.userCode, b);
        return device(await idp.denyDevice(o), o.userCode);
      },
    ],
    [
      'POST',
      /^\/device\/expire$/,
      async (b) => {
        const o = parse(bodies.userCode, b);
        return device(await idp.expireDevice(o), o.userCode);
      },
    ],
    [
      'POST',
      /^\/faults$/,
      (b) => {
        const { operation, ...spec } = parse(FaultBody, b);
        state.faults.set(operation, spec);
        return { operation, fault: spec };
      },
    ],
    ['DELETE', /^\/faults$/, () => (state.faults.clear(), { ok: true })],
    [
      'POST',
      /^\/switches$/,
      (b) => {
        const patch = parse(bodies.switches, b);
        state.switches = { ...state.switches, ...patch };
        return { switches: state.switches };
      },
    ],
    ['POST', /^\/sessions\/expire$/, (b) => (parse(bodies.empty, b), { expired: expireAllSessions(state) })],
    [
      'POST',
      /^\/users\/([^/]+)\/revoke$/,
      (b, [name]) => {
        parse(bodies.empty, b);
        const u = user(decodeURIComponent(name!));
        return { revokedGrants: idp.revokeUser(u.username) + cognito.revokeUser(u.username) };
      },
    ],
    [
      'POST',
      /^\/cognito\/callback-urls$/,
      async (b) => ({ callbackUrls: await cognito.addCallbackUrl(parse(bodies.callbackUrl, b).url) }),
    ],
    ['GET', /^\/cognito\/callback-urls$/, () => ({ callbackUrls: cognito.callbackUrls() })],
    ['GET', /^\/assertions$/, () => ({ assertions: state.assertions })],
    [
      'GET',
      /^\/counters$/,
      () => ({ ...Object.fromEntries(state.counters), reusedAssertions: state.reusedAssertionCount }),
    ],
  ];
}

async function serve(routes: Array<[string, RegExp, Handler]>, req: IncomingMessage, res: ServerResponse) {
  const path = new URL(req.url ?? '/', 'http://control').pathname;
  const matches = routes.filter(([, re]) => re.test(path));
  if (matches.length === 0) throw new HttpError(404, 'not_found', `no control route ${path}`);
  const route = matches.find(([method]) => method === req.method);
  if (!route) {
    throw new HttpError(405, 'method_not_allowed', `${path} takes ${matches.map(([m]) => m).join(', ')}`);
  }
  const body = await readJson(req);
  try {
    const result = await route[2](body, route[1].exec(path)!.slice(1));
    sendJson(res, 200, result);
  } catch (err) {
    if (err instanceof IdpInputError)
      throw new HttpError(400, 'invalid_request', `${err.field}: ${err.message}`);
    throw err;
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new HttpError(413, 'too_large', 'body: larger than 1 MB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'body: not valid JSON');
  }
}

const isLoopback = (address = '') =>
  address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');

function sendJson(res: ServerResponse, status: number, body: unknown) {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
