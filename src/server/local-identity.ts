/**
 * @module A local server's identity half (local-context.ts adds the Q client): the profile's signed-in
 * user and one credential provider (one identity exchange per session lifetime). Apart so that the
 * stdio server can start the exchange before the Q client's SDK is loaded (deferred-context.ts).
 */
import type { QindexConfig } from '../config/schema.js';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, QindexError, findCode } from '../errors.js';
import { openSignIn, type LoginInfo, type SignIn } from '../auth/index.js';
import { createCredentialProvider } from '../identity/index.js';
import type { CredentialProvider } from '../identity/provider.js';
import type { Logger } from '../log.js';
import type { PendingLogin, ToolContext } from '../tools/context.js';

export interface LocalIdentity extends Pick<ToolContext, 'user' | 'startLogin'> {
  credentials: CredentialProvider;
  /** Someone is signed in (no IdP call): the exchange is worth starting before the first tool call. */
  signedIn(): Promise<boolean>;
}

export function createLocalIdentity(
  config: QindexConfig,
  deps: { logger: Logger; env?: Record<string, string | undefined> },
): LocalIdentity {
  const { logger } = deps;
  const signIn = openSignIn(config, { logger, ...(deps.env ? { env: deps.env } : {}) });
  // The store keeps a login the IdP has refused until someone signs in again: remember the refusal, for
  // that login only, so that whoami does not call a dead login "signed in".
  let expired: { error: QindexError; login: string | undefined } | undefined;
  const freshIdToken = async () => {
    try {
      const token = await signIn.freshIdToken();
      expired = undefined;
      return token;
    } catch (e) {
      const refused = findCode(e, ErrorCode.LoginExpired);
      if (refused) {
        expired = { error: refused, login: loginKey(await signIn.current().catch(() => undefined)) };
      }
      throw e;
    }
  };
  const credentials = createCredentialProvider(config, { freshIdToken, logger });
  const login = loginCommand(config.profile);
  return {
    credentials,
    signedIn: () => signIn.hasLogin(),
    async user() {
      const info = await signIn.current();
      if (info && expired && expired.login === loginKey(info)) throw expired.error;
      if (!info) {
        throw new QindexError(ErrorCode.NotSignedIn, `No one is signed in for profile "${config.profile}".`, {
          remedy: `Run \`${login}\` in a terminal, then call the tool again.`,
        });
      }
      return {
        subject: info.subject,
        issuer: info.issuer,
        ...(info.email ? { email: info.email } : {}),
      };
    },
    startLogin: (signal) => startDeviceLogin(signIn, signal),
  };
}

/** Tells one login from the next: a new sign-in (here or in a terminal) writes a new updatedAt. */
const loginKey = (info: LoginInfo | undefined) =>
  info && `${info.store}|${info.location}|${info.subject}|${info.updatedAt ?? ''}`;

/** The device flow's structured start, as the in-band sign-in offers it (URL elicitation). */
async function startDeviceLogin(signIn: SignIn, signal: AbortSignal): Promise<PendingLogin> {
  const start = await signIn.startDevice({ signal, timeoutSeconds: 600 });
  return {
    url: start.verificationUriComplete ?? start.verificationUri,
    userCode: start.userCode,
    completed: start.completed,
  };
}

export const loginCommand = (profile: string) => commandLine('login', { profile });
