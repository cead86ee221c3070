/**
 * @module The body stage: a POST's JSON-RPC body, read within `http.limits.maxBodyBytes` (413), parsed
 * (400, parse error), each message checked as JSON-RPC 2.0 (400, invalid request), and a batch refused
 * (400, invalid request) when MCP no longer has batches or it needs more request slots than the user has;
 * a message nested deeper than any tool accepts is refused before the SDK's recursive code meets it.
 */
import type { IncomingMessage } from 'node:http';
import { parseJSONRPCMessage } from '@modelcontextprotocol/server';
import { argumentsProblem, MAX_JSON_DEPTH, nestsDeeperThan } from '../../../tools/input-bounds.js';
import { inputErrorText } from '../../mcp.js';
import { HttpError, RPC } from '../http-error.js';
import { batchRefusal } from '../jsonrpc.js';
import { headerOf } from './request.js';

const tooLarge = (maxBytes: number) => new HttpError(413, `Request body exceeds ${maxBytes} bytes.`);

/** Reads the whole body, refusing (413) anything over `maxBytes` before or while it streams in. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    req.resume();
    throw tooLarge(maxBytes);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      req.resume();
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON-RPC body; a parse failure is the client's fault (400). */
export function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'Parse error: the body is not valid JSON.', { rpcCode: RPC.parseError });
  }
}

/**
 * Throws 400 for JSON that is not JSON-RPC 2.0 (a batch: any element), with the SDK's own check and
 * stdio's answer: such a body has no protocol era, and its id (if any) cannot be trusted, so none is
 * echoed.
 */
export function checkMessages(body: unknown): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    try {
      parseJSONRPCMessage(message);
    } catch {
      throw new HttpError(400, 'Invalid request: the body is JSON but not a JSON-RPC 2.0 message.', {
        rpcCode: RPC.invalidRequest,
      });
    }
  }
}

/** The deepest arguments any tool accepts, plus the JSON-RPC envelope around them (params, _meta…). */
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH + 8;

/**
 * Refuses a message nesting deeper than `MAX_BODY_DEPTH` before the SDK sees it: the 2026-07-28 leg
 * serializes a body recursively, so a 5,000-deep filter overflowed the stack there (a 500). A tools/call
 * gets the tool guard's own answer as its `isError` result, as on the 2025 leg and over stdio.
 */
export function checkDepth(body: unknown): void {
  for (const message of Array.isArray(body) ? body : [body]) {
    if (!nestsDeeperThan(message, MAX_BODY_DEPTH)) continue;
    const { method, params } = message as {
      method?: unknown;
      params?: { name?: unknown; arguments?: unknown };
    };
    const args = params?.arguments;
    const problem =
      method === 'tools/call' && typeof args === 'object' && args !== null && !Array.isArray(args)
        ? argumentsProblem(args as Record<string, unknown>)
        : undefined;
    const text = problem
      ? inputErrorText(String(params?.name), problem)
      : `Invalid params: the request nests more than ${MAX_BODY_DEPTH} levels deep.`;
    throw new HttpError(400, text, { rpcCode: RPC.invalidParams, asToolResult: !!problem });
  }
}

/** Throws 400 for a batch that cannot be served (see `batchRefusal`). */
export function checkBatch(
  req: Pick<IncomingMessage, 'headers'>,
  body: unknown,
  maxConcurrentPerUser: number,
): void {
  const refused = batchRefusal(body, headerOf(req, 'mcp-protocol-version'), maxConcurrentPerUser);
  if (refused) throw new HttpError(400, refused, { rpcCode: RPC.invalidRequest });
}

/** The stage: the parsed body of a POST, undefined for other methods. */
export function jsonBody(options: { maxBytes: number; maxConcurrentPerUser: number }) {
  return async (req: IncomingMessage): Promise<unknown> => {
    if (req.method !== 'POST') return undefined;
    const body = parseJson(await readBody(req, options.maxBytes));
    checkMessages(body);
    checkDepth(body);
    checkBatch(req, body, options.maxConcurrentPerUser);
    return body;
  };
}
