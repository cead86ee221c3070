/**
 * @module The sandbox's mutable state in one place: issued AWS sessions, switches, faults and call
 * counters. Services read and write it; the control API inspects and resets it.
 */
import { randomBytes } from 'node:crypto';
import { clearQState, createQState, type QState } from './aws/qbusiness/store.js';

/** Who an identity-aware AWS session acts for; the Q data plane filters by it. */
export interface SessionIdentity {
  kind: 'idc' | 'data-accessor' | 'iam-federation';
  /** IdC user id (idc, data-accessor) or the IdP subject (iam-federation). */
  userId: string;
  email: string;
  /** Group names from the IdC directory; empty for iam-federation (federated groups are not available). */
  groups: string[];
  idcApplicationArn?: string;
  /** The Q application the IdC application fronts (idc, data-accessor). */
  qApplicationId?: string;
  tenantId?: string;
  dataAccessorId?: string;
}

/** Temporary credentials issued by the STS emulator. */
export interface IssuedSession {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
  accountId: string;
  roleArn: string;
  /** `arn:aws:sts::<acct>:assumed-role/<role>/<session>` */
  assumedRoleArn: string;
  sessionName: string;
  tags: Record<string, string>;
  /** Set when ProvidedContexts (IdC) or a web identity token with the Email tag made this session identity-aware. */
  identity?: SessionIdentity;
  /** AssumeRole called with session credentials (role chaining): capped at one hour. */
  chained: boolean;
  /** Set once (AssumeRole's SourceIdentity, a web identity token's claim), then carried along a role chain. */
  sourceIdentity?: string;
}

/** A fault armed for one operation, e.g. `qbusiness:SearchRelevantContent` or `idp:token`. */
export interface FaultSpec {
  /** The next N calls get the service's throttling error. */
  throttle?: number;
  /** The next N calls get a 500 InternalServerException/InternalFailure. */
  serverError?: number;
  /** Added latency on every call, until cleared. */
  latencyMs?: number;
  /** The next N streaming responses stop mid-way (Chat). */
  cutStream?: number;
  /** Chat: a pause this long after the first text event, on every stream until cleared (an idle upstream). */
  stallMs?: number;
  /** The next N calls get this service error (code as in the service model, message free text). */
  error?: { code: string; message: string; status: number; count: number };
  /** IdP only: the Retry-After header (delay-seconds or an HTTP-date) of its 429 and 503 fault answers. */
  retryAfter?: string;
}

export interface Switches {
  /** CreateTokenWithIAM refuses an assertion it has seen before (AWS behaviour unconfirmed: on by default). */
  singleUseAssertions: boolean;
  /** The IAM-federation first-ChatSync "does not have a subscription" AccessDenied, once per new user. */
  subscriptionQuirk: boolean;
  /** The IdP answers 503 to everything. */
  idpDown: boolean;
  /**
   * CreateTokenWithIAM's refresh_token grant returns a new identity context (AWS behaviour unconfirmed:
   * on by default; off plays the SDK example's answer, which has none).
   */
  refreshGrantIdentityContext: boolean;
  /** Seconds a rotated refresh token still works at the IdP (default 0: reuse revokes the grant). */
  refreshReuseGraceSeconds: number;
  /** The Cognito-like pool rotates refresh tokens (default off, as Cognito: the same one works until it expires). */
  cognitoRotateRefreshTokens: boolean;
}

/** One jwt-bearer CreateTokenWithIAM call as the emulator saw it: who signed the assertion and for whom, never the token. */
export interface AssertionRecord {
  /** The assertion's `iss` (undefined when it was not a JWT). */
  iss?: string;
  /** The assertion's `aud`, as a list. */
  aud: string[];
  /** The assertion's `client_id` / `azp` claim, when it has one. */
  tokenClientId?: string;
  /** The request's clientId (the IdC application ARN). */
  clientId: string;
  /** `ok`, or the error the emulator answered with (e.g. `invalid_grant`). */
  outcome: string;
  /** The cause, as the error description says it. */
  reason?: string;
}

export interface SandboxState {
  sessions: Map<string, IssuedSession>;
  /** SHA-256 of every assertion CreateTokenWithIAM accepted (for the single-use rule). */
  usedAssertions: Set<string>;
  /** Assertions presented more than once, counted whatever the switch says. */
  reusedAssertionCount: number;
  /** Every jwt-bearer CreateTokenWithIAM call, in order (cleared by reset). */
  assertions: AssertionRecord[];
  /**
   * Secrets the sandbox handed out (Cognito-like pool tokens, CreateTokenWithIAM tokens and identity
   * contexts), in-process only: canary tests look for them in what a client sees and in logs. Kept across resets.
   */
  issuedSecrets: Set<string>;
  switches: Switches;
  faults: Map<string, FaultSpec>;
  counters: Map<string, number>;
  /** Users the IAM-federation subscription quirk has already fired for. */
  subscribedUsers: Set<string>;
  /** HMAC key for identity contexts and presigned URLs: tampering is detectable. */
  signingKey: Buffer;
  /** Q Business conversations, messages and feedback. */
  q: QState;
}

export function createState(): SandboxState {
  return {
    sessions: new Map(),
    usedAssertions: new Set(),
    reusedAssertionCount: 0,
    assertions: [],
    issuedSecrets: new Set(),
    switches: {
      singleUseAssertions: true,
      subscriptionQuirk: true,
      idpDown: false,
      refreshGrantIdentityContext: true,
      refreshReuseGraceSeconds: 0,
      cognitoRotateRefreshTokens: false,
    },
    faults: new Map(),
    counters: new Map(),
    subscribedUsers: new Set(),
    signingKey: randomBytes(32),
    q: createQState(),
  };
}

/** Clears sessions, faults, counters and switches; keys and the world stay. */
export function resetState(state: SandboxState): void {
  const fresh = createState();
  state.sessions.clear();
  state.usedAssertions.clear();
  state.reusedAssertionCount = 0;
  state.assertions.length = 0;
  state.switches = fresh.switches;
  state.faults.clear();
  state.counters.clear();
  state.subscribedUsers.clear();
  clearQState(state.q);
}

export function countCall(state: SandboxState, operation: string): void {
  state.counters.set(operation, (state.counters.get(operation) ?? 0) + 1);
}

export type ArmedFault =
  | { kind: 'throttle' }
  | { kind: 'serverError' }
  | { kind: 'error'; code: string; message: string; status: number };

/**
 * Consumes one armed fault for `operation`, if any, after waiting out its latency.
 * Services call this first and turn the result into their own error shape.
 */
export async function takeFault(state: SandboxState, operation: string): Promise<ArmedFault | undefined> {
  const spec = state.faults.get(operation);
  if (!spec) return undefined;
  if (spec.latencyMs) await new Promise((r) => setTimeout(r, spec.latencyMs));
  if (spec.throttle && spec.throttle > 0) {
    spec.throttle--;
    return { kind: 'throttle' };
  }
  if (spec.serverError && spec.serverError > 0) {
    spec.serverError--;
    return { kind: 'serverError' };
  }
  if (spec.error && spec.error.count > 0) {
    spec.error.count--;
    return { kind: 'error', code: spec.error.code, message: spec.error.message, status: spec.error.status };
  }
  return undefined;
}

/** Consumes one armed stream cut for `operation`. */
export function takeStreamCut(state: SandboxState, operation: string): boolean {
  const spec = state.faults.get(operation);
  if (spec?.cutStream && spec.cutStream > 0) {
    spec.cutStream--;
    return true;
  }
  return false;
}

/** Marks every issued session as expired now (the "expire credentials early" fault). */
export function expireAllSessions(state: SandboxState): number {
  const past = new Date(Date.now() - 1000);
  for (const s of state.sessions.values()) s.expiration = past;
  return state.sessions.size;
}
