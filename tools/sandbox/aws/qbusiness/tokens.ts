/**
 * @module Opaque pagination tokens: an offset bound to the request it continues (operation, user,
 * query, filter) and HMAC-signed, so a token is useless for another user or another query.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { validationError } from './errors.js';

const digest = (context: string) => createHash('sha256').update(context).digest('base64url').slice(0, 22);

function sign(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url').slice(0, 32);
}

/** A token that resumes at `offset` of the result list computed for `context`. */
export function encodeToken(key: Buffer, context: string, offset: number): string {
  const payload = Buffer.from(JSON.stringify({ c: digest(context), o: offset })).toString('base64url');
  return `${payload}.${sign(key, payload)}`;
}

/** The offset a token resumes at; ValidationException when it was not issued for this context. */
export function decodeToken(key: Buffer, context: string, token: string): number {
  const invalid = () =>
    validationError('The nextToken is not valid for this request.', [
      { name: 'nextToken', message: 'Invalid or expired pagination token' },
    ]);
  const [payload, mac] = token.split('.');
  if (!payload || !mac) throw invalid();
  const expected = Buffer.from(sign(key, payload));
  const given = Buffer.from(mac);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
  let parsed: { c?: unknown; o?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
  } catch {
    throw invalid();
  }
  if (parsed.c !== digest(context) || typeof parsed.o !== 'number' || parsed.o < 0) throw invalid();
  return parsed.o;
}

/** One page of `items` from `offset`, with the token for the rest (if any). */
export function page<T>(
  key: Buffer,
  context: string,
  items: T[],
  offset: number,
  size: number,
): { items: T[]; nextToken?: string } {
  const end = offset + size;
  const slice = items.slice(offset, end);
  return end < items.length ? { items: slice, nextToken: encodeToken(key, context, end) } : { items: slice };
}
