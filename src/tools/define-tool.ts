/**
 * @module defineTool(): the shape of one tool (name, LLM-facing description, zod input/output schemas,
 * annotations, handler), and the one wrapper that runs a handler for the MCP SDK: structured result
 * plus text on success, an `isError` result an agent can act on for any failure.
 */
import type { z } from 'zod';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  LoggingLevel,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, hasCode, redact, renderError, type RenderedError } from '../errors.js';
import type { ToolContext } from './context.js';
import type { SeenDocuments } from './seen-documents.js';

export interface ToolCall {
  ctx: ToolContext;
  /** Aborted when the client cancels the request (or the connection closes). */
  signal: AbortSignal;
  /** Present only when the client asked for progress (sent a progressToken). */
  progress?: (progress: number, message?: string) => Promise<void>;
  /** Titles and URIs that this session's results gave for documents (for get_document's heading). */
  documents: SeenDocuments;
}

export interface ToolOutput<O> {
  structured: O;
  /** What an LLM reads: compact, with numbered sources it can cite. */
  text: string;
}

export interface ToolDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotations;
  handler(params: z.output<I>, call: ToolCall): Promise<ToolOutput<z.output<O>>>;
}

export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDefinition<I, O>) {
  return def;
}

export type McpLog = (level: LoggingLevel, data: Record<string, unknown>) => void;
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What the server offers the wrapper beyond the tool context. */
export interface ServerHooks {
  log: McpLog;
  /** One per server, shared by its tools. */
  documents: SeenDocuments;
  /** Whether the connected client declared URL elicitation (known only after initialize). */
  canElicitUrl?: () => boolean;
  /**
   * Asks the user to open a URL (MCP URL elicitation) and says what they chose; undefined when the
   * client cannot do URL elicitation.
   */
  elicitUrl?: (
    request: { message: string; url: string },
    extra: Extra,
  ) => Promise<{ action: 'accept' | 'decline' | 'cancel'; complete(): Promise<void> } | undefined>;
}

/** Failures the caller's own input explains (a gone id, a stale token): expected, not server faults. */
const CALLER_ERRORS: ReadonlyMap<ErrorCode, 'info' | 'warn'> = new Map([
  [ErrorCode.QNotFound, 'info'],
  [ErrorCode.InvalidNextToken, 'info'],
  // Usually the caller's arguments; could be ours, so a little louder.
  [ErrorCode.QInvalidRequest, 'warn'],
]);

/** The SDK callback for `def`: runs the handler and turns every failure into an `isError` result. */
export function toolCallback(def: ToolDefinition, ctx: ToolContext, hooks: ServerHooks) {
  const { log } = hooks;
  return async (params: unknown, extra: Extra): Promise<CallToolResult> => {
    const started = performance.now();
    const progressToken = extra._meta?.progressToken;
    const call: ToolCall = {
      ctx,
      signal: extra.signal,
      documents: hooks.documents,
      ...(progressToken !== undefined
        ? {
            progress: async (progress: number, message?: string) => {
              // After a cancel the client has forgotten the token: stay quiet.
              if (extra.signal.aborted) return;
              await extra.sendNotification({
                method: 'notifications/progress',
                params: { progressToken, progress, ...(message !== undefined ? { message } : {}) },
              });
            },
          }
        : {}),
    };
    const run = async (): Promise<CallToolResult> => {
      const out = await def.handler(params as never, call);
      ctx.logger.debug({ tool: def.name, ms: Math.round(performance.now() - started) }, 'tool call done');
      return { content: [{ type: 'text', text: out.text }], structuredContent: out.structured as never };
    };
    try {
      try {
        return await run();
      } catch (e) {
        // Nobody signed in: where the client can open a URL, sign in in-band and try once more.
        if (!hasCode(e, ErrorCode.NotSignedIn, ErrorCode.LoginExpired)) throw e;
        if (!(await signInInBand(ctx, hooks, extra))) throw e;
        return await run();
      }
    } catch (e) {
      // A remote (bearer) user's error is logged whole by the renderer, under the reference they see.
      const shown =
        ctx.audience === 'remote'
          ? renderError(e, { audience: 'remote', subject: def.name, logger: ctx.logger })
          : renderError(e, { audience: 'local', subject: def.name });
      const level = logLevelOf(shown);
      if (!shown.reference) {
        ctx.logger[level]({ tool: def.name, code: shown.code, retryable: shown.retryable }, shown.message);
      }
      log(level === 'warn' ? 'warning' : level, {
        tool: def.name,
        code: shown.code,
        message: shown.message,
        ...(shown.reference ? { reference: shown.reference } : {}),
      });
      return { content: [{ type: 'text', text: shown.text }], isError: true };
    }
  };
}

/** Device login offered through URL elicitation; true once the user has signed in. */
async function signInInBand(ctx: ToolContext, hooks: ServerHooks, extra: Extra): Promise<boolean> {
  // Ask the client first: starting a device authorization nobody can see costs the IdP a grant per call.
  if (!ctx.startLogin || !hooks.elicitUrl || !hooks.canElicitUrl?.()) return false;
  const controller = new AbortController();
  const stop = () => controller.abort();
  extra.signal.addEventListener('abort', stop, { once: true });
  try {
    const pending = await ctx.startLogin(controller.signal);
    const answer = await hooks.elicitUrl(
      {
        message: `Sign in to ${ctx.config.idp.issuer} so that qindex-mcp can search Amazon Q Business as you: open the page, sign in, and confirm when it shows the code ${pending.userCode}.`,
        url: pending.url,
      },
      extra,
    );
    if (answer?.action !== 'accept') {
      ctx.logger.info({ action: answer?.action ?? 'unsupported' }, 'in-band sign-in not taken');
      return false;
    }
    await pending.completed;
    await answer.complete().catch(() => undefined);
    ctx.logger.info('signed in through URL elicitation');
    return true;
  } catch (e) {
    ctx.logger.warn({ err: redact(e instanceof Error ? e.message : String(e)) }, 'in-band sign-in failed');
    return false;
  } finally {
    controller.abort();
    extra.signal.removeEventListener('abort', stop);
  }
}

function logLevelOf(err: RenderedError): 'info' | 'warn' | 'error' {
  return (
    CALLER_ERRORS.get(err.code) ?? (err.retryable || err.code === ErrorCode.Cancelled ? 'warn' : 'error')
  );
}
