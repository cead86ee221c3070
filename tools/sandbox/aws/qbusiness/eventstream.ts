/**
 * @module The Chat operation's event streams: decodes the client's signed envelope frames (checking
 * each event's chained SigV4 signature against the session's secret) and encodes output events.
 */
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import type { Message, MessageHeaders } from '@smithy/types';
import type { IssuedSession } from '../../state.js';
import type { SigningScope } from '../types.js';
import { accessDenied, validationError } from './errors.js';

const codec = new EventStreamCodec(toUtf8, fromUtf8);

export interface InputEvent {
  type: string;
  payload: Record<string, unknown>;
}

/** Splits a buffer of concatenated frames (each starts with its total length). */
function splitFrames(buf: Uint8Array): Message[] {
  const out: Message[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  while (at < buf.byteLength) {
    if (buf.byteLength - at < 16) throw new Error('truncated event stream frame');
    const len = view.getUint32(at);
    if (len < 16 || at + len > buf.byteLength) throw new Error('bad event stream frame length');
    out.push(codec.decode(buf.subarray(at, at + len)));
    at += len;
  }
  return out;
}

const header = (h: MessageHeaders, name: string) => h[name]?.value;

/**
 * Decodes the request body of Chat: signed envelopes whose payload is the inner event frame, the
 * last one empty. Each envelope's `:chunk-signature` must chain from the request signature.
 */
export async function decodeInput(
  body: Buffer,
  session: IssuedSession,
  scope: SigningScope,
  requestSignature: string,
): Promise<InputEvent[]> {
  let envelopes: Message[];
  try {
    envelopes = splitFrames(body);
  } catch (err) {
    throw validationError(
      `The input event stream could not be decoded: ${(err as Error).message}`,
      [],
      'CANNOT_PARSE',
    );
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: session.accessKeyId,
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
    },
    region: scope.region,
    service: scope.service,
    sha256: Sha256,
  });
  const events: InputEvent[] = [];
  let prior = requestSignature;
  for (const env of envelopes) {
    const date = header(env.headers, ':date');
    const sig = header(env.headers, ':chunk-signature');
    if (!(date instanceof Date) || !(sig instanceof Uint8Array)) {
      throw accessDenied('Input event is not signed: :date and :chunk-signature headers are required.');
    }
    const expected = await signer.sign(
      {
        message: { headers: { ':date': { type: 'timestamp', value: date } }, body: env.body },
        priorSignature: prior,
      },
      { signingDate: date },
    );
    const given = Buffer.from(sig).toString('hex');
    if (given !== expected.signature) {
      throw accessDenied(
        'The signature of an input event does not match (events must chain from the request signature).',
      );
    }
    prior = given;
    if (env.body.byteLength === 0) break; // the end-of-stream envelope
    const inner = codec.decode(env.body);
    const type = header(inner.headers, ':event-type');
    if (header(inner.headers, ':message-type') !== 'event' || typeof type !== 'string') {
      throw validationError('Input frames must be events with an :event-type.', [], 'CANNOT_PARSE');
    }
    let payload: Record<string, unknown> = {};
    if (inner.body.byteLength) {
      try {
        payload = JSON.parse(toUtf8(inner.body)) as Record<string, unknown>;
      } catch {
        throw validationError(`The ${type} payload is not JSON.`, [], 'CANNOT_PARSE');
      }
    }
    events.push({ type, payload });
  }
  return events;
}

/** One output event frame. */
export function encodeEvent(type: string, payload: unknown): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** The Signature= part of the request's Authorization header (the seed of the event signature chain). */
export function requestSignature(authorization: string | undefined): string {
  return /Signature=([0-9a-f]+)/.exec(authorization ?? '')?.[1] ?? '';
}
