/**
 * @module The contract between the AWS emulator's server (transport, SigV4, routing) and the
 * services behind it (STS, sso-oidc, qbusiness). A service sees a verified caller and a fully
 * read request; it answers in its own protocol's shape.
 */
import type { BaseCredentials } from '../world.js';
import type { IssuedSession } from '../state.js';

export interface EmulatorRequest {
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  /** The path as sent, still percent-encoded: split it before decoding, as a `%2F` in a label is not a separator. */
  rawPath: string;
  query: URLSearchParams;
  /** Header names lower-cased; HTTP/2 pseudo-headers removed. */
  headers: Record<string, string>;
  body: Buffer;
  httpVersion: '1.1' | '2.0';
  /** Aborted when the client goes away (e.g. a cancelled Chat stream). */
  signal: AbortSignal;
}

export interface EmulatorResponse {
  status: number;
  headers?: Record<string, string>;
  /** A streaming body (event stream) is written chunk by chunk as it is produced. */
  body?: string | Buffer | AsyncIterable<Uint8Array>;
}

/** Who signed the request, after SigV4 verification. */
export type Caller =
  | { kind: 'base'; credentials: BaseCredentials }
  | { kind: 'session'; session: IssuedSession }
  | { kind: 'anonymous' };

export interface SigningScope {
  date: string;
  region: string;
  service: string;
}

export type ServiceHandler = (
  req: EmulatorRequest,
  caller: Caller,
  scope: SigningScope | undefined,
) => Promise<EmulatorResponse>;
