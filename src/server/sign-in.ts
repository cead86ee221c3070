/**
 * @module In-band sign-in, offered when a tool finds nobody signed in and the client can open a URL
 * (MCP URL elicitation): the device login's verification page. The 2025 era asks the client with an
 * `elicitation/create` request on the connection and waits. The 2026-07-28 era has no server-to-client
 * requests: the call answers `input_required` with the URL and a signed `requestState` naming the
 * pending login, and the client retries the call with the user's answer, on any connection.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  CLIENT_CAPABILITIES_META_KEY,
  createRequestStateCodec,
  inputRequired,
  inputResponse,
  type ClientCapabilities,
  type InputRequiredResult,
  type Server,
} from '@modelcontextprotocol/server';
import { redact } from '../errors.js';
import type { Extra } from '../tools/define-tool.js';
import type { PendingLogin, ToolContext } from '../tools/context.js';

/** How long a device login offered in-band waits for the user (the IdP's codes last about as long). */
const LOGIN_SECONDS = 600;

/**
 * Signs the state a 2026 call hands the client, so a retry can name only a login this process started.
 * The key is per process: pending logins live in this process's memory anyway (a local server's).
 */
export const requestStateCodec = createRequestStateCodec<SignInState>({
  key: randomBytes(32),
  ttlSeconds: LOGIN_SECONDS,
});

interface SignInState {
  loginId: string;
}

/** The key of the sign-in in the call's `inputRequests` and the retry's `inputResponses`. */
const SIGN_IN = 'signin';

/**
 * Device logins offered to a 2026 client and not yet answered: they outlive the request that started
 * them (the answer comes in a retried call, which HTTP serves with a new server instance).
 */
const pending = new Map<string, { login: PendingLogin; stop: () => void }>();

/** What the user reads beside the URL: the IdP's page asks to check the code (RFC 8628 §3.3.1). */
const message = (ctx: ToolContext, login: PendingLogin) =>
  `Sign in to ${ctx.config.idp.issuer} so that qindex-mcp can search Amazon Q Business as you: open the page, sign in, and confirm when it shows the code ${login.userCode}.`;

/** 2025 era: the device login through a URL elicitation request; true once the user has signed in. */
export async function legacySignIn(ctx: ToolContext, server: Server, extra: Extra): Promise<boolean> {
  // Ask the client first: starting a device authorization nobody can see costs the IdP a grant per call.
  if (!ctx.startLogin || !server.getClientCapabilities()?.elicitation?.url) return false;
  const controller = new AbortController();
  const signal = extra.mcpReq.signal;
  const stop = () => controller.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const login = await ctx.startLogin(controller.signal);
    const elicitationId = randomUUID();
    const answer = await server.elicitInput(
      { mode: 'url', elicitationId, message: message(ctx, login), url: login.url },
      // The user needs time to sign in; the tool call itself stays cancellable.
      { relatedRequestId: extra.mcpReq.id, signal, timeout: LOGIN_SECONDS * 1000 },
    );
    if (answer.action !== 'accept') {
      ctx.logger.info({ action: answer.action }, 'in-band sign-in not taken');
      return false;
    }
    await login.completed;
    await server
      .createElicitationCompletionNotifier(elicitationId)()
      .catch(() => undefined);
    ctx.logger.info('signed in through URL elicitation');
    return true;
  } catch (e) {
    return failed(ctx, e);
  } finally {
    controller.abort();
    signal.removeEventListener('abort', stop);
  }
}

/**
 * 2026-07-28: the first call answers `input_required` (the URL, and the pending login's id in the
 * signed request state); its retry waits for that login when the user accepted and says true, or
 * false (the tool's own "sign in" error) when they declined.
 */
export async function modernSignIn(ctx: ToolContext, extra: Extra): Promise<boolean | InputRequiredResult> {
  if (!ctx.startLogin) return false;
  // Verified by the SDK (requestStateCodec.verify) before the handler runs.
  const state = extra.mcpReq.requestState<SignInState>();
  if (state) {
    const answer = inputResponse(extra.mcpReq.inputResponses, SIGN_IN);
    const offered = pending.get(state.loginId);
    if (answer.kind !== 'elicit' || answer.action !== 'accept') {
      offered?.stop();
      const action = answer.kind === 'elicit' ? answer.action : answer.kind;
      ctx.logger.info({ action }, 'in-band sign-in not taken');
      return false;
    }
    if (offered) {
      try {
        await untilAborted(offered.login.completed, extra.mcpReq.signal);
        ctx.logger.info('signed in through URL elicitation');
        return true;
      } catch (e) {
        return failed(ctx, e);
      }
    }
    // Accepted, but that login is over (it failed or expired): offer a new one.
  }
  // The client must have said it can open a URL: returning the request anyway is a -32021 error.
  if (!envelopeCapabilities(extra)?.elicitation?.url) return false;
  try {
    const loginId = randomUUID();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), LOGIN_SECONDS * 1000).unref();
    const stop = () => {
      clearTimeout(timer);
      controller.abort();
      pending.delete(loginId);
    };
    const login = await ctx.startLogin(controller.signal);
    pending.set(loginId, { login, stop });
    login.completed.then(stop, stop);
    return inputRequired({
      inputRequests: { [SIGN_IN]: inputRequired.elicitUrl({ message: message(ctx, login), url: login.url }) },
      requestState: await requestStateCodec.mint({ loginId }),
    });
  } catch (e) {
    return failed(ctx, e);
  }
}

/** The capabilities the request's `_meta` declares (the SDK types the envelope loosely). */
const envelopeCapabilities = (extra: Extra) =>
  (extra.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY] as
    ClientCapabilities | undefined;

function failed(ctx: ToolContext, e: unknown): false {
  ctx.logger.warn({ err: redact(e instanceof Error ? e.message : String(e)) }, 'in-band sign-in failed');
  return false;
}

/** `promise`, or a rejection once `signal` aborts (the retried call was cancelled; the login goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('cancelled'));
  return new Promise<T>((resolve, reject) => {
    const abort = () => reject(new Error('cancelled'));
    signal.addEventListener('abort', abort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
  });
}
