/**
 * @module The ToolContext of a local server (stdio, or HTTP without bearer auth): the profile's
 * signed-in user, one credential provider (one identity exchange per session lifetime) and one Q
 * client, built once and shared by every tool call.
 */
import { PassThrough } from 'node:stream';
import type { QindexConfig } from '../config/schema.js';
import { QindexError } from '../errors.js';
import { openSignIn } from '../auth/index.js';
import { createCredentialProvider } from '../identity/index.js';
import type { Logger } from '../log.js';
import { createQClient } from '../q/client.js';
import type { PendingLogin, ToolContext } from '../tools/context.js';

export interface LocalContext extends ToolContext {
  dispose(): void;
}

export function createLocalContext(
  config: QindexConfig,
  deps: { logger: Logger; env?: Record<string, string | undefined> },
): LocalContext {
  const { logger } = deps;
  const signIn = openSignIn(config, { logger, ...(deps.env ? { env: deps.env } : {}) });
  const credentials = createCredentialProvider(config, {
    freshIdToken: () => signIn.freshIdToken(),
    logger,
  });
  const q = createQClient(config, { credentials, logger });
  const login = loginCommand(config.profile);
  return {
    config,
    q,
    logger,
    async user() {
      const info = await signIn.current();
      if (!info) {
        throw new QindexError('not_signed_in', `No one is signed in for profile "${config.profile}".`, {
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
    dispose: () => q.destroy(),
  };
}

/**
 * Runs the device flow with its instructions captured instead of printed, and resolves with the
 * verification URL (the complete one, with the user code) as soon as the IdP has issued it.
 */
function startDeviceLogin(signIn: ReturnType<typeof openSignIn>, signal: AbortSignal): Promise<PendingLogin> {
  return new Promise((resolve, reject) => {
    const output = new PassThrough();
    let text = '';
    let found = false;
    // The instructions arrive in a few synchronous writes: decide once they are all in.
    output.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (!found) setImmediate(pick);
    });
    const pick = () => {
      const url = /https?:\/\/\S+user_code=\S+/.exec(text)?.[0] ?? /https?:\/\/\S+/.exec(text)?.[0];
      if (!url || found) return;
      found = true;
      resolve({ url, completed });
    };
    const completed = signIn.loginDevice({ signal, output, qr: false, timeoutSeconds: 600 });
    completed.catch((e: unknown) => {
      if (!found) reject(e);
    });
  });
}

export const loginCommand = (profile: string) =>
  `qindex-mcp login${profile === 'default' ? '' : ` --profile ${profile}`}`;
