/**
 * @module defineTool(): the shape of one tool (name, LLM-facing description, zod input/output schemas,
 * annotations, handler), and the one wrapper that runs a handler for the MCP SDK: structured result
 * plus text on success, an `isError` result an agent can act on for any failure.
 */
import type { z } from 'zod';
import type {
  CallToolResult,
  InputRequiredResult,
  LoggingLevel,
  ServerContext,
  ToolAnnotations,
} from '@modelcontextprotocol/server';
import { ErrorCode, hasCode, renderError, type RenderedError } from '../errors.js';
import type { ToolContext } from './context.js';
import type { SeenDocuments } from './seen-documents.js';
import { callTelemetryOn, observedCall } from './observed-call.js';

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

/** An MCP logging notification about the request `extra` serves (sent as its era and level allow). */
export type McpLog = (level: LoggingLevel, data: Record<string, unknown>, extra: Extra) => void;
/** What the SDK hands a tool handler: the request (id, _meta, signal, notify, log) and its transport. */
export type Extra = ServerContext;

/** What the server offers the wrapper beyond the tool context. */
export interface ServerHooks {
  log: McpLog;
  /** One per server, shared by its tools. */
  documents: SeenDocuments;
  /**
   * In-band sign-in for a call that found nobody signed in: true once someone is, false when the
   * client cannot take it or the user did not, or a result to answer the call with (2026-07-28's
   * input_required: the client asks the user, then retries the call).
   */
  signIn?: (extra: Extra) => Promise<boolean | InputRequiredResult>;
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
  return async (params: unknown, extra: Extra): Promise<CallToolResult | InputRequiredResult> => {
    const started = performance.now();
    if (!callTelemetryOn()) return (await invoke(params, extra, started)).result;
    return observedCall(def, ctx, params, () => invoke(params, extra, started));
  };

  async function invoke(
    params: unknown,
    extra: Extra,
    started: number,
  ): Promise<{ result: CallToolResult | InputRequiredResult; outcome: string }> {
    const { signal, notify } = extra.mcpReq;
    const progressToken = extra.mcpReq._meta?.progressToken;
    const call: ToolCall = {
      ctx,
      signal,
      documents: hooks.documents,
      ...(progressToken !== undefined
        ? {
            progress: async (progress: number, message?: string) => {
              // After a cancel the client has forgotten the token: stay quiet.
              if (signal.aborted) return;
              await notify({
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
        return { result: await run(), outcome: 'ok' };
      } catch (e) {
        // Nobody signed in: where the client can open a URL, sign in in-band and try once more.
        if (!hasCode(e, ErrorCode.NotSignedIn, ErrorCode.LoginExpired) || !hooks.signIn) throw e;
        const signedIn = await hooks.signIn(extra);
        if (signedIn === false) throw e;
        if (signedIn !== true) return { result: signedIn, outcome: 'input_required' };
        return { result: await run(), outcome: 'ok' };
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
      log(
        level === 'warn' ? 'warning' : level,
        {
          tool: def.name,
          code: shown.code,
          message: shown.message,
          ...(shown.reference ? { reference: shown.reference } : {}),
        },
        extra,
      );
      return {
        result: { content: [{ type: 'text', text: shown.text }], isError: true },
        outcome: shown.code,
      };
    }
  }
}

function logLevelOf(err: RenderedError): 'info' | 'warn' | 'error' {
  return (
    CALLER_ERRORS.get(err.code) ?? (err.retryable || err.code === ErrorCode.Cancelled ? 'warn' : 'error')
  );
}
