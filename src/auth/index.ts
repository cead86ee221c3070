/**
 * @module Sign-in for the rest of the product: `openSignIn(config)` gives fresh ID tokens from the stored
 * (or QINDEX_REFRESH_TOKEN) refresh token, tells who is signed in, and runs device/browser login and logout.
 * Every state change happens under the profile's cross-process lock, re-reading the store inside it (after
 * recovering what a killed process was saving); a rotated refresh token is saved the moment it arrives.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import { headlessRefreshToken } from '../config/flags.js';
import type { Logger } from '../log.js';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError, hasCode } from '../errors.js';
import { browserLogin, type BrowserLoginOptions } from './browser.js';
import { startDeviceLogin, type DeviceLoginOptions, type DeviceLoginStart } from './device.js';
import { withProfileLock } from './lock.js';
import { createOidc, oidcError, type Oidc } from './oidc.js';
import { refreshGrant, type RetryPolicy, type RotatedToken } from './refresh.js';
import { ensureDir } from './store/file.js';
import { fileStore, openTokenStore } from './store/index.js';
import { locksDir, loginsDir, type Env } from './store/paths.js';
import { loginFromTokens, type TokenSet } from './tokens.js';
import type { LoginInfo, SignInConfig, StoredLogin, TokenStore } from './types.js';

export type { LoginInfo, SignInConfig, StoredLogin, TokenStore } from './types.js';
export type { BrowserLoginOptions } from './browser.js';
export type { DeviceLoginOptions, DeviceLoginStart } from './device.js';

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
  /**
   * Whether there is a login to refresh (QINDEX_REFRESH_TOKEN, or one in the store), without the IdP
   * round trip `current()` makes for the environment's token.
   */
  hasLogin(): Promise<boolean>;
  /** Starts a device sign-in: what to show the person now, and the saved login once they approve. */
  startDevice(options?: DeviceLoginOptions): Promise<DeviceLoginStart<LoginInfo>>;
  loginBrowser(options?: BrowserLoginOptions): Promise<LoginInfo>;
  logout(): Promise<LogoutResult>;
}

export interface SignInDeps {
  logger: Logger;
  env?: Env;
  /** Human notices (store fallback); default logger.warn. The CLI prints them as plain lines. */
  notify?: (message: string) => void;
  /** How a rate-limited (429) or unavailable (503) refresh is retried; tests pass their own `sleep`. */
  refreshRetry?: Partial<RetryPolicy>;
  /** The headless refresh token (QINDEX_REFRESH_TOKEN, read by src/config); default: config's read of `env`. */
  refreshToken?: string | undefined;
}

export function openSignIn(config: SignInConfig, deps: SignInDeps): SignIn {
  const env = deps.env ?? process.env;
  const profile = config.profile;
  const notify = deps.notify ?? ((m: string) => deps.logger.warn(m));
  const oidc = createOidc(config.idp);
  const loginCmd = `\`${commandLine('login', { profile })}\``;
  let store: TokenStore | undefined;
  const getStore = () => (store ??= openTokenStore(config.tokenStore, { env, notify }));
  // The memory store lives in this process only: an in-process lock is enough for its profile logins.
  const lockDir = () => (getStore().kind === 'memory' ? undefined : locksDir(env));
  const now = () => new Date().toISOString();

  const envToken =
    'refreshToken' in deps ? deps.refreshToken?.trim() || undefined : headlessRefreshToken(env);
  let envRefreshToken = envToken;
  let envInfo: LoginInfo | undefined;
  // MCP clients start several servers with the same QINDEX_REFRESH_TOKEN. With rotation, the first refresh
  // retires that token for all of them, so its successors are kept in the store under a key derived from
  // it (never the token itself): each process refreshes the newest one, under the cross-process lock.
  const envChainKey = envToken
    ? `${profile}.env-${createHash('sha256').update(envToken).digest('hex').slice(0, 16)}`
    : undefined;
  // With the memory store too: processes that each kept the successor to themselves would present the
  // spent token and make the IdP revoke the login for all of them. The successor goes to the file store,
  // unless the config directory cannot be written (a read-only container): then it stays in memory.
  let chain: Promise<{ store?: TokenStore; lockDir?: string }> | undefined;
  const envChain = () =>
    (chain ??= (async () => {
      if (getStore().kind !== 'memory') return { store: getStore(), lockDir: locksDir(env) };
      try {
        await ensureDir(locksDir(env));
        return { store: fileStore(loginsDir(env)), lockDir: locksDir(env) };
      } catch (e) {
        notify(
          `Cannot write ${locksDir(env)} (${(e as NodeJS.ErrnoException).code ?? 'error'}): a rotated QINDEX_REFRESH_TOKEN stays in this process only. Another process started with the same token would make the IdP revoke the login: give each process its own refresh token, or make the directory writable.`,
        );
        return {};
      }
    })());
  let chainSaid = false;

  const checkMatches = (login: StoredLogin) => {
    if (login.issuer !== oidc.issuer || login.clientId !== oidc.clientId) {
      throw new QindexError(
        ErrorCode.ProfileMismatch,
        `Profile "${profile}" is signed in to ${login.issuer} as client "${login.clientId}", but the configuration names ${oidc.issuer} and client "${oidc.clientId}".`,
        {
          remedy: `Sign in again with ${loginCmd}, or use another --profile.`,
        },
      );
    }
  };

  /** Under the key's lock: a newer entry a killed process left behind is put in place first. */
  async function recover(s: TokenStore, key: string) {
    const r = await s.recover?.(key);
    if (r?.recovered)
      deps.logger.info(
        { profile },
        `Recovered the sign-in a stopped process was saving (${s.location(key)}).`,
      );
    if (r?.removed)
      deps.logger.debug({ profile, removed: r.removed }, 'Removed leftover token store temp files.');
  }

  async function refreshFromEnv(): Promise<TokenSet> {
    const { store: s, lockDir: dir } = await envChain();
    const key = envChainKey!;
    return withProfileLock(key, { dir }, async () => {
      if (s) await recover(s, key);
      const successor = await s?.read(key);
      const current = successor?.refreshToken ?? envRefreshToken!;
      const onRotated = async (r: RotatedToken) => {
        envRefreshToken = r.refreshToken;
        if (!s) return;
        await s.write(key, {
          refreshToken: r.refreshToken,
          issuer: oidc.issuer,
          clientId: oidc.clientId,
          subject: successor?.subject ?? r.subject ?? 'unknown',
          email: successor?.email ?? r.email,
          expiresAt: r.expiresAt,
          scope: r.scope ?? successor?.scope,
          updatedAt: now(),
        });
        if (getStore().kind === 'memory' && !chainSaid) {
          chainSaid = true;
          notify(
            `The IdP rotated QINDEX_REFRESH_TOKEN: its successor is kept in ${s.location(key)} (mode 0600) so that every qindex-mcp started with the same token keeps the login.`,
          );
        }
      };
      const tokens = await refreshGrant(oidc, current, profile, {
        onRotated,
        retry: deps.refreshRetry,
      }).catch((e: unknown) => {
        if (!hasCode(e, ErrorCode.LoginExpired)) throw e;
        throw new QindexError(
          ErrorCode.LoginExpired,
          `The refresh token in QINDEX_REFRESH_TOKEN has expired or was revoked at ${oidc.issuer}.`,
          {
            remedy: `Put a new refresh token in QINDEX_REFRESH_TOKEN, or unset it and sign in with ${loginCmd}.`,
            cause: e,
          },
        );
      });
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
      await recover(s, profile);
      // Read inside the lock: another process may have just rotated the token.
      const login = await s.read(profile);
      if (!login) {
        throw new QindexError(
          ErrorCode.NotSignedIn,
          `Not signed in (profile "${profile}", ${s.location(profile)}).`,
          {
            remedy: `Run ${loginCmd}, or set QINDEX_REFRESH_TOKEN.`,
          },
        );
      }
      checkMatches(login);
      let saved = login;
      const onRotated = async (r: RotatedToken) => {
        saved = {
          ...login,
          refreshToken: r.refreshToken,
          expiresAt: r.expiresAt ?? login.expiresAt,
          updatedAt: now(),
        };
        await s.write(profile, saved);
      };
      const tokens = await refreshGrant(oidc, login.refreshToken, profile, {
        onRotated,
        retry: deps.refreshRetry,
      });
      const email = tokens.claims.email ?? saved.email;
      if (email !== saved.email) await s.write(profile, { ...saved, email, updatedAt: now() });
      return tokens.idToken;
    });
  }

  async function save(tokens: TokenSet): Promise<LoginInfo> {
    const s = getStore();
    const login = loginFromTokens(oidc, tokens);
    await withProfileLock(profile, { dir: lockDir() }, async () => {
      await recover(s, profile);
      try {
        await s.read(profile);
      } catch (e) {
        // A damaged file is moved aside and named, never silently overwritten.
        if (!(hasCode(e, ErrorCode.TokenStoreCorrupt) && s.setAside)) throw e;
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
    hasLogin: async () => envRefreshToken !== undefined || (await getStore().read(profile)) !== undefined,
    async startDevice(options = {}) {
      const start = await startDeviceLogin(oidc, { profile, ...options });
      const completed = start.completed.then(save);
      completed.catch(() => undefined); // as start.completed: ignoring the outcome is allowed
      return { ...start, completed };
    },
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
      ErrorCode.ProfileMismatch,
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
