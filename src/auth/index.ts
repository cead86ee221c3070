/**
 * @module Sign-in for the rest of the product: `openSignIn(config)` gives fresh ID tokens from the stored
 * (or QINDEX_REFRESH_TOKEN) refresh token, tells who is signed in, and runs device/browser login and logout.
 * Every state change happens under the profile's cross-process lock, re-reading the store inside it.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Logger } from '../log.js';
import { QindexError } from '../errors.js';
import { browserLogin, type BrowserLoginOptions } from './browser.js';
import { deviceLogin, type DeviceLoginOptions } from './device.js';
import { withProfileLock } from './lock.js';
import { createOidc, oidcError, type Oidc } from './oidc.js';
import { refreshGrant } from './refresh.js';
import { openTokenStore } from './store/index.js';
import { locksDir, type Env } from './store/paths.js';
import { loginFromTokens, type TokenSet } from './tokens.js';
import type { LoginInfo, SignInConfig, StoredLogin, TokenStore } from './types.js';

export type { LoginInfo, SignInConfig, StoredLogin, TokenStore } from './types.js';
export type { BrowserLoginOptions } from './browser.js';
export type { DeviceLoginOptions } from './device.js';

export interface LogoutResult {
  removed: boolean;
  /** True when the IdP confirmed the revocation; false with `revokeError` when it could not be reached. */
  revoked: boolean;
  revokeError?: string;
  location: string;
}

export interface SignIn {
  /** A new ID token from the refresh grant on every call (never cached), rotation persisted. */
  freshIdToken(): Promise<string>;
  current(): Promise<LoginInfo | undefined>;
  loginDevice(options?: DeviceLoginOptions): Promise<LoginInfo>;
  loginBrowser(options?: BrowserLoginOptions): Promise<LoginInfo>;
  logout(): Promise<LogoutResult>;
}

export interface SignInDeps {
  logger: Logger;
  env?: Env;
  /** Human notices (store fallback); default logger.warn. The CLI prints them as plain lines. */
  notify?: (message: string) => void;
}

export function openSignIn(config: SignInConfig, deps: SignInDeps): SignIn {
  const env = deps.env ?? process.env;
  const profile = config.profile;
  const notify = deps.notify ?? ((m: string) => deps.logger.warn(m));
  const oidc = createOidc(config.idp);
  const loginCmd = `\`qindex-mcp login${profile === 'default' ? '' : ` --profile ${profile}`}\``;
  let store: TokenStore | undefined;
  const getStore = () => (store ??= openTokenStore(config.tokenStore, { env, notify }));
  // The memory store lives in this process only: an in-process lock is enough for it.
  const lockDir = () => (getStore().kind === 'memory' ? undefined : locksDir(env));

  const envToken = env.QINDEX_REFRESH_TOKEN?.trim() || undefined;
  let envRefreshToken = envToken;
  let envInfo: LoginInfo | undefined;
  // MCP clients start several servers with the same QINDEX_REFRESH_TOKEN. With rotation, the first refresh
  // retires that token for all of them, so its successors are kept in the store under a key derived from
  // it (never the token itself): each process refreshes the newest one, under the cross-process lock.
  const envChainKey = envToken
    ? `${profile}.env-${createHash('sha256').update(envToken).digest('hex').slice(0, 16)}`
    : undefined;

  const checkMatches = (login: StoredLogin) => {
    if (login.issuer !== oidc.issuer || login.clientId !== oidc.clientId) {
      throw new QindexError(
        'profile_mismatch',
        `Profile "${profile}" is signed in to ${login.issuer} as client "${login.clientId}", but the configuration names ${oidc.issuer} and client "${oidc.clientId}".`,
        {
          remedy: `Sign in again with ${loginCmd}, or use another --profile.`,
        },
      );
    }
  };

  async function refreshFromEnv(): Promise<TokenSet> {
    const s = getStore();
    const chained = s.kind !== 'memory';
    return withProfileLock(envChainKey!, { dir: lockDir() }, async () => {
      const successor = chained ? await s.read(envChainKey!) : undefined;
      const current = successor?.refreshToken ?? envRefreshToken!;
      const tokens = await refreshGrant(oidc, current, profile).catch((e: unknown) => {
        if (!(e instanceof QindexError && e.code === 'login_expired')) throw e;
        throw new QindexError(
          'login_expired',
          `The refresh token in QINDEX_REFRESH_TOKEN has expired or was revoked at ${oidc.issuer}.`,
          {
            remedy: `Put a new refresh token in QINDEX_REFRESH_TOKEN, or unset it and sign in with ${loginCmd}.`,
            cause: e,
          },
        );
      });
      // Rotation: the environment cannot be written back; the store keeps the successor for every process.
      if (tokens.refreshToken && tokens.refreshToken !== current) {
        envRefreshToken = tokens.refreshToken;
        if (chained) await s.write(envChainKey!, loginFromTokens(oidc, tokens));
      }
      envInfo = {
        profile,
        issuer: oidc.issuer,
        clientId: oidc.clientId,
        subject: tokens.claims.sub,
        email: tokens.claims.email,
        store: 'env',
        location: 'QINDEX_REFRESH_TOKEN',
      };
      return tokens;
    });
  }

  async function freshIdToken(): Promise<string> {
    if (envRefreshToken) return (await refreshFromEnv()).idToken;
    const s = getStore();
    return withProfileLock(profile, { dir: lockDir() }, async () => {
      // Read inside the lock: another process may have just rotated the token.
      const login = await s.read(profile);
      if (!login) {
        throw new QindexError(
          'not_signed_in',
          `Not signed in (profile "${profile}", ${s.location(profile)}).`,
          {
            remedy: `Run ${loginCmd}, or set QINDEX_REFRESH_TOKEN.`,
          },
        );
      }
      checkMatches(login);
      const tokens = await refreshGrant(oidc, login.refreshToken, profile);
      if (tokens.refreshToken && tokens.refreshToken !== login.refreshToken) {
        await s.write(profile, {
          ...login,
          refreshToken: tokens.refreshToken,
          expiresAt: tokens.refreshExpiresAt ?? login.expiresAt,
          email: tokens.claims.email ?? login.email,
          updatedAt: new Date().toISOString(),
        });
      }
      return tokens.idToken;
    });
  }

  async function save(tokens: TokenSet): Promise<LoginInfo> {
    const s = getStore();
    const login = loginFromTokens(oidc, tokens);
    await withProfileLock(profile, { dir: lockDir() }, async () => {
      try {
        await s.read(profile);
      } catch (e) {
        // A damaged file is moved aside and named, never silently overwritten.
        if (!(e instanceof QindexError && e.code === 'token_store_corrupt' && s.setAside)) throw e;
        const aside = await s.setAside(profile);
        notify(`The damaged token store file was kept as ${aside}.`);
      }
      await s.write(profile, login);
    });
    if (envToken) notify('QINDEX_REFRESH_TOKEN is set and takes precedence over this login while it is set.');
    return info(login, s);
  }

  const info = (login: StoredLogin, s: TokenStore): LoginInfo => ({
    profile,
    issuer: login.issuer,
    clientId: login.clientId,
    subject: login.subject,
    email: login.email,
    expiresAt: login.expiresAt,
    updatedAt: login.updatedAt,
    store: s.kind,
    location: s.location(profile),
  });

  return {
    freshIdToken,
    async current() {
      if (envRefreshToken) {
        if (!envInfo) await refreshFromEnv();
        return envInfo;
      }
      const s = getStore();
      const login = await s.read(profile);
      return login && info(login, s);
    },
    loginDevice: async (options = {}) => save(await deviceLogin(oidc, { profile, ...options })),
    loginBrowser: async (options = {}) =>
      save(
        await browserLogin(oidc, {
          profile,
          redirectPort: config.idp.redirectPort,
          redirectPath: config.idp.redirectPath,
          ...options,
        }),
      ),
    async logout() {
      const s = getStore();
      return withProfileLock(profile, { dir: lockDir() }, async () => {
        const login = await s.read(profile);
        const result: LogoutResult = { removed: false, revoked: false, location: s.location(profile) };
        if (!login) return result;
        try {
          result.revoked = await revoke(oidc, login, profile);
        } catch (e) {
          result.revokeError = e instanceof Error ? e.message : String(e);
        }
        result.removed = await s.remove(profile);
        return result;
      });
    },
  };
}

/** Revokes the refresh token at the IdP when it has a revocation endpoint; false when it has none. */
async function revoke(oidc: Oidc, login: StoredLogin, profile: string): Promise<boolean> {
  if (login.issuer !== oidc.issuer || login.clientId !== oidc.clientId) {
    // The token belongs to another IdP/client: revoking it through this one would fail.
    throw new QindexError(
      'profile_mismatch',
      `The login belongs to ${login.issuer} (client "${login.clientId}"), not the configured IdP; it was not revoked.`,
    );
  }
  const configuration = await oidc.configuration();
  const url = configuration.serverMetadata().revocation_endpoint;
  if (!url) return false;
  try {
    await client.tokenRevocation(configuration, login.refreshToken, { token_type_hint: 'refresh_token' });
    return true;
  } catch (e) {
    throw oidcError(e, { action: 'revocation', url, issuer: oidc.issuer, clientId: oidc.clientId, profile });
  }
}
