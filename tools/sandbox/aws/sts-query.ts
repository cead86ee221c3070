/**
 * @module awsQuery plumbing for the STS emulator: form parameters with typed validation (AWS's
 * `ValidationError` wording), `member.N` lists, XML success responses, and issuing session credentials.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IssuedSession, SandboxState, SessionIdentity } from '../state.js';
import type { Role } from '../world.js';
import { STS_NS, stsError, xmlEscape } from './errors.js';
import type { EmulatorResponse } from './types.js';

/** Thrown by parameter readers; the service turns it into an XML error. */
export class StsFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  toResponse(): EmulatorResponse {
    return stsError(this.status, this.code, this.message);
  }
}

export const validation = (message: string) => new StsFault(400, 'ValidationError', message);
export const accessDenied = (message: string) => new StsFault(403, 'AccessDenied', message);

const ECHOED = new Set(['RoleArn', 'RoleSessionName', 'ProviderId', 'SourceIdentity']);
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export class Params {
  constructor(readonly form: URLSearchParams) {}

  string(name: string, opts: { required?: boolean; min?: number; max?: number; pattern?: RegExp } = {}) {
    const value = this.form.get(name);
    if (value === null) {
      if (opts.required) {
        throw validation(
          `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
        );
      }
      return undefined;
    }
    // Echo only values that are never secret (tokens, assertions and external ids are not repeated back).
    const shown = ECHOED.has(name) && value.length <= 64 ? value : '***';
    const where = `Value '${shown}' at '${lowerFirst(name)}'`;
    if (opts.min !== undefined && value.length < opts.min) {
      throw validation(
        `1 validation error detected: ${where} failed to satisfy constraint: Member must have length greater than or equal to ${opts.min}`,
      );
    }
    if (opts.max !== undefined && value.length > opts.max) {
      throw validation(
        `1 validation error detected: ${where} failed to satisfy constraint: Member must have length less than or equal to ${opts.max}`,
      );
    }
    if (opts.pattern && !opts.pattern.test(value)) {
      throw validation(
        `1 validation error detected: ${where} failed to satisfy constraint: Member must satisfy regular expression pattern: ${opts.pattern.source}`,
      );
    }
    return value;
  }

  integer(name: string, min: number, max: number): number | undefined {
    const raw = this.form.get(name);
    if (raw === null) return undefined;
    if (!/^-?\d+$/.test(raw))
      throw new StsFault(
        400,
        'InvalidParameterValue',
        `Value (${raw}) for parameter ${lowerFirst(name)} is invalid. Expected an integer.`,
      );
    const n = Number(raw);
    if (n < min || n > max) {
      const bound = n < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`;
      throw validation(
        `1 validation error detected: Value '${n}' at '${lowerFirst(name)}' failed to satisfy constraint: Member must have value ${bound}`,
      );
    }
    return n;
  }

  /** `Name.member.1.Field=…` entries as objects, in member order. */
  members(name: string, fields: string[]): Array<Record<string, string | undefined>> {
    const out: Array<Record<string, string | undefined>> = [];
    const prefix = `${name}.member.`;
    const indexes = new Set<number>();
    for (const key of this.form.keys()) {
      if (!key.startsWith(prefix)) continue;
      const n = Number(key.slice(prefix.length).split('.')[0]);
      if (!Number.isInteger(n) || n < 1) throw validation(`Invalid list index in parameter ${key}.`);
      indexes.add(n);
    }
    for (const n of [...indexes].sort((a, b) => a - b)) {
      const entry: Record<string, string | undefined> = {};
      for (const f of fields) entry[f] = this.form.get(`${prefix}${n}.${f}`) ?? undefined;
      out.push(entry);
    }
    return out;
  }
}

export const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/[\w+=,.@\-/]{1,512}$/;
export const SESSION_NAME = /^[\w+=,.@-]*$/;
/** sourceIdentityType: 2–64 characters, roleSessionNameType's pattern (no `:`, so no reserved `aws:` prefix). */
export const SOURCE_IDENTITY = SESSION_NAME;

/** A nested object → XML elements (undefined members are left out, as AWS omits them). */
export function toXml(value: Record<string, unknown>, indent = '    '): string {
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
      out += `${indent}<${k}>\n${toXml(v as Record<string, unknown>, `${indent}  `)}${indent}</${k}>\n`;
    } else {
      const text = v instanceof Date ? v.toISOString().replace(/\.\d{3}Z$/, 'Z') : String(v);
      out += `${indent}<${k}>${xmlEscape(text)}</${k}>\n`;
    }
  }
  return out;
}

export function stsResult(action: string, result: Record<string, unknown>): EmulatorResponse {
  const requestId = randomUUID();
  return {
    status: 200,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body:
      `<${action}Response xmlns="${STS_NS}">\n  <${action}Result>\n${toXml(result)}  </${action}Result>\n` +
      `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${action}Response>\n`,
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const randomId = (n: number) => Array.from(randomBytes(n), (b) => ALNUM[b & 31]).join('');

/** The stable `AROA…` unique id of a role. */
export const roleUniqueId = (role: { arn: string }) =>
  `AROA${Array.from(createHash('sha256').update(role.arn).digest().subarray(0, 17), (b) => ALNUM[b & 31]).join('')}`;

/** Issues temporary credentials for a role session and remembers them for SigV4 and the Q data plane. */
export function issueSession(
  state: SandboxState,
  opts: {
    role: Role;
    sessionName: string;
    durationSeconds: number;
    tags: Record<string, string>;
    identity?: SessionIdentity;
    sourceIdentity?: string;
    chained: boolean;
  },
): IssuedSession {
  const session: IssuedSession = {
    accessKeyId: `ASIA${randomId(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(180).toString('base64')}`,
    expiration: new Date(Math.floor(Date.now() / 1000) * 1000 + opts.durationSeconds * 1000),
    accountId: opts.role.accountId,
    roleArn: opts.role.arn,
    assumedRoleArn: `arn:aws:sts::${opts.role.accountId}:assumed-role/${opts.role.name}/${opts.sessionName}`,
    sessionName: opts.sessionName,
    tags: opts.tags,
    chained: opts.chained,
    ...(opts.identity ? { identity: opts.identity } : {}),
    ...(opts.sourceIdentity !== undefined ? { sourceIdentity: opts.sourceIdentity } : {}),
  };
  state.sessions.set(session.accessKeyId, session);
  state.issuedSecrets.add(session.secretAccessKey).add(session.sessionToken);
  return session;
}

export const credentialsXml = (s: IssuedSession) => ({
  AccessKeyId: s.accessKeyId,
  SecretAccessKey: s.secretAccessKey,
  SessionToken: s.sessionToken,
  Expiration: s.expiration,
});

export const assumedRoleUserXml = (role: Role, s: IssuedSession) => ({
  AssumedRoleId: `${roleUniqueId(role)}:${s.sessionName}`,
  Arn: s.assumedRoleArn,
});
