/**
 * @module The stdio server's ToolContext, loaded in the background: `serve` answers `initialize` with
 * only the MCP SDK and the tool definitions loaded, and the sign-in, identity and AWS SDK stack
 * (local-context.ts and everything under it, most of the start-up cost) is imported once the
 * handshake is answered, or by the first call that needs it, whichever comes first. `warm()` then
 * starts the sign-in refresh and the identity exchange so that the first tool call finds them done or
 * in flight (the memoizer shares the one in-flight exchange; it never runs twice).
 */
import type { QindexConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { QClient } from '../q/client.js';
import type { LocalContext } from './local-context.js';

export interface DeferredContext extends LocalContext {
  /** Loads the context and starts the exchange; failures are left for the first tool call to meet. */
  warm(): void;
}

export function createDeferredContext(
  config: QindexConfig,
  deps: { logger: Logger; env?: Record<string, string | undefined> },
): DeferredContext {
  let loading: Promise<LocalContext> | undefined;
  let disposed = false;
  const load = () =>
    (loading ??= import('./local-context.js').then((m) => {
      const ctx = m.createLocalContext(config, deps);
      // Stopped while loading: close the client it just built.
      if (disposed) ctx.dispose();
      return ctx;
    }));
  const q: QClient = {
    applicationId: config.q.applicationId,
    retrieverId: config.q.retrieverId,
    indexId: config.q.indexId,
    region: config.q.region,
    search: async (input, options) => (await load()).q.search(input, options),
    chatSync: async (input, options) => (await load()).q.chatSync(input, options),
    chatStream: async (input, options) => (await load()).q.chatStream(input, options),
    listConversations: async (input, options) => (await load()).q.listConversations(input, options),
    listMessages: async (input, options) => (await load()).q.listMessages(input, options),
    deleteConversation: async (input, options) => (await load()).q.deleteConversation(input, options),
    putFeedback: async (input, options) => (await load()).q.putFeedback(input, options),
    getDocument: async (input, options) => (await load()).q.getDocument(input, options),
    destroy: () =>
      void loading?.then(
        (ctx) => ctx.q.destroy(),
        () => undefined,
      ),
  };
  return {
    config,
    q,
    logger: deps.logger,
    user: async () => (await load()).user(),
    startLogin: async (signal) => {
      const ctx = await load();
      if (!ctx.startLogin) throw new Error('this context cannot start a sign-in');
      return ctx.startLogin(signal);
    },
    warm() {
      void load()
        .then(async (ctx) => {
          if (!warmable(config)) return;
          // Nobody signed in: nothing to exchange (the first tool call offers the sign-in).
          await ctx.user();
          await ctx.q.prepare?.();
        })
        .catch((e: unknown) => {
          deps.logger.debug({ err: (e as Error).message }, 'background sign-in did not complete');
        });
    },
    dispose() {
      disposed = true;
      void loading?.then(
        (ctx) => ctx.dispose(),
        () => undefined,
      );
    },
  };
}

/** data-accessor with the `auth-code` grant signs in to IdC in a browser: never started unasked. */
const warmable = (config: QindexConfig) =>
  !(config.mode.type === 'data-accessor' && config.mode.grant === 'auth-code');
