/**
 * @module Checks that a stored entry has the shape of a login, so a damaged file or keychain item is
 * reported as such instead of failing later with a confusing refresh error.
 */
import type { StoredLogin } from '../types.js';

/** Returns the login, or a short reason why the text is not one (never echoing the text). */
export function parseStoredLogin(text: string): StoredLogin | { invalid: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { invalid: 'not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { invalid: 'not a JSON object' };
  const v = value as Record<string, unknown>;
  for (const key of ['refreshToken', 'issuer', 'clientId', 'subject', 'updatedAt'] as const) {
    if (typeof v[key] !== 'string' || v[key] === '')
      return { invalid: `"${key}" is missing or not a string` };
  }
  for (const key of ['email', 'expiresAt', 'scope'] as const) {
    if (v[key] !== undefined && typeof v[key] !== 'string') return { invalid: `"${key}" is not a string` };
  }
  const { refreshToken, issuer, clientId, subject, updatedAt, email, expiresAt, scope } =
    v as unknown as StoredLogin;
  const login: StoredLogin = { refreshToken, issuer, clientId, subject, updatedAt };
  if (email !== undefined) login.email = email;
  if (expiresAt !== undefined) login.expiresAt = expiresAt;
  if (scope !== undefined) login.scope = scope;
  return login;
}

export const isInvalid = (r: StoredLogin | { invalid: string }): r is { invalid: string } => 'invalid' in r;
