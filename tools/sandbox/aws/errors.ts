/**
 * @module Error responses in each protocol's own shape: awsQuery XML (STS), restJson1 with
 * `x-amzn-errortype` (qbusiness), and sso-oidc's OAuth-style `{error, error_description}`.
 * Also the SigV4 failures, which each service reports with its own codes.
 */
import { randomUUID } from 'node:crypto';
import type { EmulatorResponse } from './types.js';

/** Escapes XML text content (AWS leaves quotes alone outside attributes). */
export const xmlEscape = (s: string) =>
  s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);

export const STS_NS = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** STS (awsQuery) `<ErrorResponse>`, exactly as AWS sends it. */
export function stsError(status: number, code: string, message: string): EmulatorResponse {
  const requestId = randomUUID();
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<ErrorResponse xmlns="${STS_NS}">\n  <Error>\n    <Type>${type}</Type>\n` +
      `    <Code>${xmlEscape(code)}</Code>\n    <Message>${xmlEscape(message)}</Message>\n  </Error>\n` +
      `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`,
  };
}

/**
 * Any restJson1 answer (sso-oidc, qbusiness), success or error: every AWS response names its request in
 * `x-amzn-RequestId`. `body` undefined is an empty body (operations without output).
 */
export function restJsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers },
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

/** restJson1 error: the type in `x-amzn-errortype`, members in the JSON body. */
export function restJsonError(
  status: number,
  type: string,
  message: string,
  extra: Record<string, unknown> = {},
): EmulatorResponse {
  return restJsonResponse(
    status,
    { message, ...extra },
    { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/` },
  );
}

/** sso-oidc's modeled errors: OAuth `error` code plus `error_description` (and `reason` where modeled). */
export function oauthError(
  status: number,
  type: string,
  error: string,
  description: string,
  reason?: string,
): EmulatorResponse {
  return restJsonResponse(
    status,
    { error, error_description: description, ...(reason ? { reason } : {}) },
    { 'x-amzn-errortype': type },
  );
}

/** Why SigV4 verification refused a request. */
export type AuthFailure =
  'missing' | 'incomplete' | 'unknown-key' | 'bad-signature' | 'expired-token' | 'skew';

const STS_AUTH: Record<AuthFailure, [number, string]> = {
  missing: [403, 'MissingAuthenticationToken'],
  incomplete: [400, 'IncompleteSignature'],
  'unknown-key': [403, 'InvalidClientTokenId'],
  'bad-signature': [403, 'SignatureDoesNotMatch'],
  'expired-token': [403, 'ExpiredToken'],
  skew: [403, 'SignatureDoesNotMatch'],
};

const REST_AUTH: Record<AuthFailure, [number, string]> = {
  missing: [403, 'MissingAuthenticationTokenException'],
  incomplete: [400, 'IncompleteSignatureException'],
  'unknown-key': [403, 'UnrecognizedClientException'],
  'bad-signature': [403, 'InvalidSignatureException'],
  'expired-token': [403, 'ExpiredTokenException'],
  skew: [403, 'InvalidSignatureException'],
};

/** A SigV4 failure in the shape of the service that was addressed (`sts` XML, JSON otherwise). */
export function authError(service: string, failure: AuthFailure, message: string): EmulatorResponse {
  if (service === 'sts') {
    const [status, code] = STS_AUTH[failure];
    return stsError(status, code, message);
  }
  const [status, type] = REST_AUTH[failure];
  if (service === 'sso-oauth' && failure === 'expired-token') {
    return oauthError(status, type, 'expired_token', message);
  }
  return restJsonError(status, type, message);
}
