/**
 * @module Input validation per the Q Business model's constraints (ids, lengths, ranges, required
 * members), answering ValidationException{message, reason, fields} like the service.
 */
import { validationError } from './errors.js';

/** ApplicationId, ConversationId, MessageId, RetrieverId, IndexId, DataSourceId: `[a-zA-Z0-9][a-zA-Z0-9-]{35}`. */
const ID = /^[a-zA-Z0-9][a-zA-Z0-9-]{35}$/;

const fail = (name: string, message: string) =>
  validationError(
    `1 validation error detected: Value at '${name}' failed to satisfy constraint: ${message}`,
    [{ name, message }],
  );

export function requireId(name: string, value: unknown): string {
  if (value === undefined || value === null || value === '') throw fail(name, 'Member must not be null');
  if (typeof value !== 'string' || !ID.test(value)) {
    throw fail(name, 'Member must satisfy regular expression pattern: [a-zA-Z0-9][a-zA-Z0-9-]{35}');
  }
  return value;
}

export function optionalId(name: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : requireId(name, value);
}

export function requireText(name: string, value: unknown, min: number, max: number): string {
  if (value === undefined || value === null) throw fail(name, 'Member must not be null');
  if (typeof value !== 'string') throw fail(name, 'Member must be a string');
  if (value.length < min) throw fail(name, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw fail(name, `Member must have length less than or equal to ${max}`);
  return value;
}

export function optionalText(name: string, value: unknown, min: number, max: number): string | undefined {
  return value === undefined || value === null ? undefined : requireText(name, value, min, max);
}

/** maxResults: an integer in [min, max]; query-string values arrive as text. */
export function optionalInt(name: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw fail(name, 'Member must be an integer');
  if (n < min) throw fail(name, `Member must have value greater than or equal to ${min}`);
  if (n > max) throw fail(name, `Member must have value less than or equal to ${max}`);
  return n;
}

export function optionalEnum<T extends string>(
  name: string,
  value: unknown,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw fail(name, `Member must satisfy enum value set: [${allowed.join(', ')}]`);
  }
  return value as T;
}

/** Parses a JSON body; an empty body is `{}`. */
export function parseBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  try {
    const v: unknown = JSON.parse(body.toString('utf8'));
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch {
    throw validationError('Could not parse the request body as JSON.', [], 'CANNOT_PARSE');
  }
}

/** NextToken: 1–800 characters. */
export const optionalNextToken = (value: unknown) => optionalText('nextToken', value, 1, 800);
