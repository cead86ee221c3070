/**
 * @module SigV4 verification like AWS does it: parse the Authorization header, find the secret
 * (base keys or an issued session), re-sign the request's signed headers with @smithy/signature-v4
 * at the request's own x-amz-date, compare in constant time. Also checks clock skew, expiry of
 * session credentials and the payload hash.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/protocol-http';
import type { Checksum, SourceData } from '@smithy/types';
import type { World } from '../world.js';
import type { SandboxState } from '../state.js';
import type { AuthFailure } from './errors.js';
import type { Caller, SigningScope } from './types.js';

export type { Caller, SigningScope } from './types.js';

/** The signed facts a request presents, before any secret is looked up. */
export interface ParsedAuthorization {
  accessKeyId: string;
  scope: SigningScope;
  signedHeaders: string[];
  signature: string;
}

export type VerifyResult =
  | { ok: true; caller: Caller; scope: SigningScope }
  | { ok: false; failure: AuthFailure; message: string; scope?: SigningScope };

/** The raw request as it came off the wire: the path still percent-encoded, as the client signed it. */
export interface SignedRequest {
  method: string;
  rawPath: string;
  query: URLSearchParams;
  /** Lower-cased names; over HTTP/2 also `:authority`, which the SDK's h2 handler signs instead of `host`. */
  headers: Record<string, string>;
  body: Buffer;
}

const MAX_SKEW_MS = 15 * 60 * 1000;
const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request\s*,\s*SignedHeaders=([a-z0-9\-;:]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

/** Node's native SHA-256 behind the Checksum interface SignatureV4 expects (sha256-js is far slower). */
class NodeSha256 implements Checksum {
  private hash;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.make();
  }
  private make() {
    return this.secret ? createHmac('sha256', toBuffer(this.secret)) : createHash('sha256');
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
  reset(): void {
    this.hash = this.make();
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** Parses `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const m = header ? AUTH_RE.exec(header.trim()) : null;
  if (!m) return undefined;
  const [, accessKeyId, date, region, service, signedHeaders, signature] = m as unknown as string[];
  return {
    accessKeyId: accessKeyId!,
    scope: { date: date!, region: region!, service: service! },
    signedHeaders: signedHeaders!.split(';'),
    signature: signature!,
  };
}

/** `20260101T120000Z` → Date; undefined when malformed. */
export function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const d = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

type Secret = { secretAccessKey: string; sessionToken?: string; caller: Caller };

function lookupSecret(world: World, state: SandboxState, accessKeyId: string): Secret | undefined {
  for (const base of Object.values(world.baseCredentials)) {
    if (base.accessKeyId === accessKeyId) {
      return { secretAccessKey: base.secretAccessKey, caller: { kind: 'base', credentials: base } };
    }
  }
  const session = state.sessions.get(accessKeyId);
  if (session) {
    return {
      secretAccessKey: session.secretAccessKey,
      sessionToken: session.sessionToken,
      caller: { kind: 'session', session },
    };
  }
  return undefined;
}

// One signer per key and scope: SignatureV4 caches derived signing keys per instance.
const signers = new Map<string, SignatureV4>();

function signerFor(accessKeyId: string, secret: Secret, scope: SigningScope): SignatureV4 {
  const key = `${accessKeyId}\0${secret.secretAccessKey}\0${secret.sessionToken ?? ''}\0${scope.region}\0${scope.service}`;
  let signer = signers.get(key);
  if (!signer) {
    if (signers.size > 500) signers.clear();
    signer = new SignatureV4({
      credentials: {
        accessKeyId,
        secretAccessKey: secret.secretAccessKey,
        ...(secret.sessionToken ? { sessionToken: secret.sessionToken } : {}),
      },
      region: scope.region,
      service: scope.service,
      sha256: NodeSha256,
      uriEscapePath: true,
      applyChecksum: false,
    });
    signers.set(key, signer);
  }
  return signer;
}

function sameString(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

function queryRecord(query: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** Verifies a header-signed request; on success says who signed it. */
export async function verifySigV4(
  world: World,
  state: SandboxState,
  req: SignedRequest,
  now = new Date(),
): Promise<VerifyResult> {
  const authorization = req.headers['authorization'];
  if (!authorization) return { ok: false, failure: 'missing', message: 'Missing Authentication Token' };
  const parsed = parseAuthorization(authorization);
  if (!parsed) {
    return {
      ok: false,
      failure: 'incomplete',
      message: `Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters (AWS4-HMAC-SHA256).`,
    };
  }
  const { scope } = parsed;
  const fail = (failure: AuthFailure, message: string): VerifyResult => ({
    ok: false,
    failure,
    message,
    scope,
  });
  const amzDate = parseAmzDate(req.headers['x-amz-date']);
  if (!amzDate || !(parsed.signedHeaders.includes('host') || parsed.signedHeaders.includes(':authority'))) {
    return fail(
      'incomplete',
      `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header, and a signed 'host' header.`,
    );
  }
  if (req.headers['x-amz-date']!.slice(0, 8) !== scope.date) {
    return fail(
      'bad-signature',
      'Credential should be scoped to a valid date matching the X-Amz-Date header.',
    );
  }
  if (Math.abs(now.getTime() - amzDate.getTime()) > MAX_SKEW_MS) {
    return fail(
      'skew',
      `Signature expired: ${req.headers['x-amz-date']} is now earlier or later than the 15 minutes allowed.`,
    );
  }
  const secret = lookupSecret(world, state, parsed.accessKeyId);
  if (!secret) return fail('unknown-key', 'The security token included in the request is invalid.');
  const token = req.headers['x-amz-security-token'];
  if (secret.sessionToken !== undefined || token !== undefined) {
    if (token === undefined || secret.sessionToken === undefined || !sameString(token, secret.sessionToken)) {
      return fail('unknown-key', 'The security token included in the request is invalid.');
    }
  }
  const contentSha = req.headers['x-amz-content-sha256'];
  if (contentSha && /^[0-9a-f]{64}$/.test(contentSha)) {
    if (createHash('sha256').update(req.body).digest('hex') !== contentSha) {
      return fail(
        'bad-signature',
        `The provided 'x-amz-content-sha256' header does not match what was computed.`,
      );
    }
  }
  const headers: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    // Over HTTP/2 the authority travels only as `:authority`, which AWS takes as the Host header.
    const value = req.headers[name] ?? (name === 'host' ? req.headers[':authority'] : undefined);
    if (value === undefined) return fail('bad-signature', `Signed header ${name} is not in the request.`);
    headers[name] = value;
  }
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: (headers['host'] ?? headers[':authority'] ?? '').replace(/:\d+$/, ''),
    path: req.rawPath,
    query: queryRecord(req.query),
    headers,
    body: req.body.length ? req.body : undefined,
  });
  const signed = await signerFor(parsed.accessKeyId, secret, scope).sign(request, {
    signingDate: amzDate,
    signableHeaders: new Set(parsed.signedHeaders),
  });
  const resigned = String(signed.headers['authorization']);
  const expected = resigned.slice(resigned.lastIndexOf('Signature=') + 'Signature='.length);
  if (!sameString(expected, parsed.signature)) {
    return fail(
      'bad-signature',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    );
  }
  if (secret.caller.kind === 'session' && secret.caller.session.expiration.getTime() <= now.getTime()) {
    return fail('expired-token', 'The security token included in the request is expired');
  }
  return { ok: true, caller: secret.caller, scope };
}
