/**
 * @module The stdio transport: newline-delimited JSON-RPC on stdin/stdout. It replaces the SDK's
 * StdioServerTransport for two reasons. A line over the size limit is answered with an error and skipped
 * as it streams in, never buffered (the SDK's ReadBuffer closes the transport and the process exits).
 * And writes that find stdout full share one 'drain' wait (the SDK adds a listener per write, so a
 * slow reader gets a MaxListenersExceededWarning on stderr).
 */
import type { Readable, Writable } from 'node:stream';
import {
  ProtocolErrorCode,
  parseJSONRPCMessage,
  serializeMessage,
  type JSONRPCMessage,
  type RequestId,
  type Transport,
} from '@modelcontextprotocol/server';

/** The most one line may hold: the SDK's own limit (10 MiB), now answered instead of fatal. */
export const MAX_LINE_BYTES = 10 * 1024 * 1024;

/** How a line was refused; the transport has already answered it. */
export type RejectedKind = 'parse_error' | 'invalid_request' | 'line_too_long';

export class RejectedLineError extends Error {
  override name = 'RejectedLineError';
  constructor(
    readonly kind: RejectedKind,
    message: string,
  ) {
    super(message);
  }
}

export interface LineTransportOptions {
  stdin?: Readable;
  stdout?: Writable;
  maxLineBytes?: number;
}

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private readonly stdin: Readable;
  private readonly stdout: Writable;
  private readonly max: number;
  /** The current line's bytes so far (never more than `max`). */
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside a line that went over the limit: bytes are dropped until its newline. */
  private skipping = false;
  /** The one wait for 'drain' that every blocked write shares. */
  private drained: Promise<void> | undefined;
  private isClosed = false;
  private markClosed!: () => void;
  /** Settles once the transport closed (whoever serves it owns `onclose`). */
  readonly closed = new Promise<void>((resolve) => (this.markClosed = resolve));

  constructor(options: LineTransportOptions = {}) {
    this.stdin = options.stdin ?? process.stdin;
    this.stdout = options.stdout ?? process.stdout;
    this.max = options.maxLineBytes ?? MAX_LINE_BYTES;
  }

  async start(): Promise<void> {
    this.stdin.on('data', this.ondata);
    this.stdin.on('error', this.onStreamError);
    // EPIPE and the like: the client is gone. Without a listener Node would throw it.
    this.stdout.on('error', this.onStreamError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    if (!this.stdout.writable) return Promise.resolve();
    if (this.stdout.write(serializeMessage(message)) && !this.drained) return Promise.resolve();
    this.drained ??= waitForDrain(this.stdout).finally(() => (this.drained = undefined));
    return this.drained;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stdin.off('data', this.ondata);
    this.stdin.off('error', this.onStreamError);
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.parts = [];
    this.size = 0;
    this.markClosed();
    this.onclose?.();
  }

  private readonly onStreamError = (error: Error) => {
    this.onerror?.(error);
  };

  private readonly ondata = (chunk: Buffer | string) => {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    while (start < data.length) {
      const newline = data.indexOf(0x0a, start);
      const end = newline === -1 ? data.length : newline;
      if (!this.skipping) this.take(data.subarray(start, end));
      if (newline === -1) return;
      if (this.skipping) this.skipping = false;
      else this.line();
      start = newline + 1;
    }
  };

  /** Adds bytes to the current line, or refuses the line the moment it passes the limit. */
  private take(bytes: Buffer) {
    if (bytes.length === 0) return;
    if (this.size + bytes.length <= this.max) {
      this.parts.push(bytes);
      this.size += bytes.length;
      return;
    }
    const head = firstBytes([...this.parts, bytes], HEAD_BYTES).toString('utf8');
    this.parts = [];
    this.size = 0;
    this.skipping = true;
    const mib = this.max / (1024 * 1024);
    this.refuse(
      'line_too_long',
      ProtocolErrorCode.InvalidRequest,
      `Invalid request: the message is longer than the ${mib} MiB (${this.max} bytes) limit for one line; it was discarded. Send smaller messages.`,
      leadingId(head),
    );
  }

  private line() {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    const text = bytes.toString('utf8').replace(/\r$/, '');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return this.refuse(
        'parse_error',
        ProtocolErrorCode.ParseError,
        'Parse error: the line is not valid JSON.',
      );
    }
    let message: JSONRPCMessage;
    try {
      message = parseJSONRPCMessage(json);
    } catch {
      return this.refuse(
        'invalid_request',
        ProtocolErrorCode.InvalidRequest,
        'Invalid request: the line is JSON but not a JSON-RPC 2.0 message.',
      );
    }
    try {
      this.onmessage?.(message);
    } catch (e) {
      this.onerror?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private refuse(kind: RejectedKind, code: number, message: string, id?: RequestId) {
    const reply = { jsonrpc: '2.0', ...(id !== undefined ? { id } : {}), error: { code, message } };
    this.send(reply as JSONRPCMessage).catch(() => undefined);
    this.onerror?.(new RejectedLineError(kind, message));
  }
}

/** Resolves once `stream` drains, or can never drain (closed, failed): one set of listeners per wait. */
function waitForDrain(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}

/** How much of an over-long line is kept to look for its id. */
const HEAD_BYTES = 4096;

/** The first `n` bytes of `parts` joined, without copying the rest. */
function firstBytes(parts: Buffer[], n: number): Buffer {
  const taken: Buffer[] = [];
  let size = 0;
  for (const part of parts) {
    if (size >= n) break;
    taken.push(part.subarray(0, n - size));
    size += taken.at(-1)!.length;
  }
  return Buffer.concat(taken, size);
}

/**
 * The top-level `"id"` of a JSON object, read from the first bytes of its text, so that a refused
 * over-long request is answered under its own id and the client's call fails instead of waiting.
 * Undefined when the id is not among those bytes (JSON-RPC then wants an answer without one).
 */
export function leadingId(head: string): RequestId | undefined {
  let depth = 0;
  let keyNext = false;
  for (let i = 0; i < head.length; i++) {
    const c = head[i]!;
    if (c === '"') {
      const end = stringEnd(head, i);
      if (end === -1) return undefined;
      if (depth === 1 && keyNext) {
        const colon = skipSpace(head, end + 1);
        if (head[colon] !== ':') return undefined;
        if (readString(head, i, end) === 'id') return idValue(head, skipSpace(head, colon + 1));
        i = colon;
      } else {
        i = end;
      }
      keyNext = false;
    } else if (c === '{' || c === '[') {
      if (depth === 0 && c !== '{') return undefined;
      depth++;
      keyNext = depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
      keyNext = false;
    } else if (c === ',') {
      keyNext = depth === 1;
    } else if (!/\s/.test(c)) {
      if (depth === 0) return undefined;
      keyNext = false;
    }
  }
  return undefined;
}

/** Index of the quote closing the string that opens at `start`, or -1 if it is cut off. */
function stringEnd(s: string, start: number): number {
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

function skipSpace(s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i]!)) i++;
  return i;
}

function readString(s: string, start: number, end: number): string | undefined {
  try {
    return JSON.parse(s.slice(start, end + 1)) as string;
  } catch {
    return undefined;
  }
}

/** A JSON-RPC id (string or integer) at `i`, complete within `s`. */
function idValue(s: string, i: number): RequestId | undefined {
  if (s[i] === '"') {
    const end = stringEnd(s, i);
    return end === -1 ? undefined : readString(s, i, end);
  }
  const number = /^-?\d+(?=[\s,}])/.exec(s.slice(i, i + 32));
  return number && Number.isSafeInteger(Number(number[0])) ? Number(number[0]) : undefined;
}
