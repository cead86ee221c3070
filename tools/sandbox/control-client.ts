/**
 * @module Typed client for the sandbox control API (tools/sandbox/control.ts), for tests and
 * benchmarks that run the sandbox in another process or reach it only by URL.
 */
import type { AssertionRecord, FaultSpec, Switches } from './state.js';
import type { SandboxDescription } from './description.js';

export interface ControlClient {
  reset(): Promise<void>;
  describe(): Promise<SandboxDescription>;
  /** An ID token signed by the IdP's key; audience defaults to the native client id. */
  mintIdToken(opts: {
    username: string;
    audience?: string;
    ttlSeconds?: number;
    nonce?: string;
    /** Overrides claims; `null` removes one (e.g. the Email principal tag's parent claim). */
    claims?: Record<string, unknown>;
  }): Promise<string>;
  /** A real refresh token the IdP's token endpoint accepts (rotation on). */
  mintRefreshToken(opts: { username: string; clientId?: string; scope?: string }): Promise<string>;
  /** A JWT access token with aud = resource (default the MCP resource). */
  mintAccessToken(opts: { username: string; resource?: string; clientId?: string }): Promise<string>;
  approveDevice(opts: { userCode: string; username: string }): Promise<void>;
  denyDevice(opts: { userCode: string }): Promise<void>;
  /** Makes a pending device code expire now (the client's next poll gets expired_token). */
  expireDevice(opts: { userCode: string }): Promise<void>;
  setFault(operation: string, spec: FaultSpec): Promise<void>;
  clearFaults(): Promise<void>;
  setSwitches(switches: Partial<Switches>): Promise<Switches>;
  /** Every AWS session credential issued so far expires now; returns how many. */
  expireSessions(): Promise<number>;
  /** Revokes the user's grants (and so refresh tokens) at the IdP; returns how many grants. */
  revokeUser(username: string): Promise<number>;
  /** Per-operation call counts, plus `reusedAssertions`. */
  counters(): Promise<Record<string, number>>;
  /** Adds an allowed callback URL to the Cognito-like pool's app client; returns them all. */
  addCognitoCallbackUrl(url: string): Promise<string[]>;
  /** Every jwt-bearer CreateTokenWithIAM call since the last reset: iss, aud, client, outcome (never the token). */
  assertions(): Promise<AssertionRecord[]>;
}

/** An error answer from the control API: `code` is its `error`, the message names the field. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

export function controlClient(url: string): ControlClient {
  const base = url.replace(/\/$/, '');
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
    if (!res.ok) {
      const code = typeof json.error === 'string' ? json.error : `http_${res.status}`;
      throw new ControlError(
        res.status,
        code,
        `control ${method} ${path}: ${code}: ${String(json.message ?? '')}`,
      );
    }
    return json as T;
  };

  return {
    reset: async () => void (await call('POST', '/reset')),
    describe: () => call('GET', '/describe'),
    mintIdToken: async (opts) => (await call<{ idToken: string }>('POST', '/tokens/id', opts)).idToken,
    mintRefreshToken: async (opts) =>
      (await call<{ refreshToken: string }>('POST', '/tokens/refresh', opts)).refreshToken,
    mintAccessToken: async (opts) =>
      (await call<{ accessToken: string }>('POST', '/tokens/access', opts)).accessToken,
    approveDevice: async (opts) => void (await call('POST', '/device/approve', opts)),
    denyDevice: async (opts) => void (await call('POST', '/device/deny', opts)),
    expireDevice: async (opts) => void (await call('POST', '/device/expire', opts)),
    setFault: async (operation, spec) => void (await call('POST', '/faults', { operation, ...spec })),
    clearFaults: async () => void (await call('DELETE', '/faults')),
    setSwitches: async (switches) =>
      (await call<{ switches: Switches }>('POST', '/switches', switches)).switches,
    expireSessions: async () => (await call<{ expired: number }>('POST', '/sessions/expire')).expired,
    revokeUser: async (username) =>
      (await call<{ revokedGrants: number }>('POST', `/users/${encodeURIComponent(username)}/revoke`))
        .revokedGrants,
    counters: () => call('GET', '/counters'),
    addCognitoCallbackUrl: async (url) =>
      (await call<{ callbackUrls: string[] }>('POST', '/cognito/callback-urls', { url })).callbackUrls,
    assertions: async () => (await call<{ assertions: AssertionRecord[] }>('GET', '/assertions')).assertions,
  };
}
