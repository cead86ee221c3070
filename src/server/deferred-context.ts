/**
 * @module The stdio server's ToolContext, loaded in the background: `serve` answers `initialize` with
 * only the MCP SDK and the tool definitions loaded, and the sign-in and identity stack
 * (local-identity.ts, openid-client, the STS and SSO OIDC clients) is imported once the handshake is
 * answered, or by the first call that needs it, whichever comes first. `warm()` then starts the sign-in
 * refresh and the identity exchange so that the first tool call finds them done or in flight (the
 * memoizer shares the one in-flight exchange; it never runs twice), and only then loads the Q client
 * and its SDK: that module evaluation overlaps the exchange's round trips instead of preceding them.
 */
import type { QindexConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { QClient } from '../q/client.js';
import type { LocalContext } from './local-context.js';
import type { LocalIdentity } from './local-identity.js';

export interface DeferredContext extends LocalContext {
  /** Loads the context and starts the exchange; failures are left for the first tool call to meet. */
  warm(): void;
}

export function createDeferredContext(
  config: QindexConfig,
  deps: { logger: Logger; env?: Record<string, string | undefined> },
): DeferredContext {
  let identity: Promise<LocalIdentity> | undefined;
  let client: Promise<QClient> | undefined;
  let disposed = false;
  const loadIdentity = () =>
    (identity ??= import('./local-identity.js').then((m) => m.createLocalIdentity(config, deps)));
  const load = () =>
    (client ??= Promise.all([loadIdentity(), import('../q/client.js')]).then(([id, m]) => {
      const q = m.createQClient(config, { credentials: id.credentials, logger: deps.logger });
      // Stopped while loading: close the client it just built.
      if (disposed) q.destroy();
      return q;
    }));
  const q: QClient = {
    applicationId: config.q.applicationId,
    retrieverId: config.q.retrieverId,
    indexId: config.q.indexId,
    region: config.q.region,
    search: async (input, options) => (await load()).search(input, options),
    chatSync: async (input, options) => (await load()).chatSync(input, options),
    chatStream: async (input, options) => (await load()).chatStream(input, options),
    listConversations: async (input, options) => (await load()).listConversations(input, options),
    listMessages: async (input, options) => (await load()).listMessages(input, options),
    deleteConversation: async (input, options) => (await load()).deleteConversation(input, options),
    putFeedback: async (input, options) => (await load()).putFeedback(input, options),
    getDocument: async (input, options) => (await load()).getDocument(input, options),
    destroy: () =>
      void client?.then(
        (c) => c.destroy(),
        () => undefined,
      ),
  };
  return {
    config,
    q,
    logger: deps.logger,
    user: async () => (await loadIdentity()).user(),
    startLogin: async (signal) => {
      const id = await loadIdentity();
      if (!id.startLogin) throw new Error('this context cannot start a sign-in');
      return id.startLogin(signal);
    },
    warm() {
      void loadIdentity()
        .then(async (id) => {
          if (!warmable(config)) return;
          // Nobody signed in: nothing to exchange (the first tool call offers the sign-in). Not user():
          // for QINDEX_REFRESH_TOKEN that is a refresh of its own, and the exchange makes one anyway.
          if (!(await id.signedIn())) return;
          // The exchange's requests go out first; the Q client's SDK loads while they are answered.
          const exchange = id.credentials();
          void load().catch(() => undefined);
          await exchange;
        })
        .catch((e: unknown) => {
          deps.logger.debug({ err: (e as Error).message }, 'background sign-in did not complete');
        });
    },
    dispose() {
      disposed = true;
      q.destroy();
    },
  };
}

/** data-accessor with the `auth-code` grant signs in to IdC in a browser: never started unasked. */
const warmable = (config: QindexConfig) =>
  !(config.mode.type === 'data-accessor' && config.mode.grant === 'auth-code');
