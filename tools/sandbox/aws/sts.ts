/**
 * @module The STS emulator (awsQuery): AssumeRole with session tags and IdC ProvidedContexts,
 * AssumeRoleWithWebIdentity against the IdP's JWKS, GetCallerIdentity. Role trust rules come from
 * the world; issued sessions carry the user's identity for the Q data plane.
 */
import { countCall, takeFault, type SandboxState, type SessionIdentity } from '../state.js';
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  IDENTITY_CENTER_CONTEXT_PROVIDER,
  findRole,
  type Role,
  type World,
} from '../world.js';
import { readIdentityContext } from './identity-context.js';
import { TokenRejected, audiences, type TokenVerifier } from './jwt.js';
import {
  Params,
  ROLE_ARN,
  SESSION_NAME,
  SOURCE_IDENTITY,
  StsFault,
  accessDenied,
  assumedRoleUserXml,
  credentialsXml,
  issueSession,
  roleUniqueId,
  stsResult,
  validation,
} from './sts-query.js';
import { stsError } from './errors.js';
import type { Caller, EmulatorRequest, EmulatorResponse, ServiceHandler } from './types.js';

const CHAINED_MAX_SECONDS = 3600;
/** The model's patterns for externalIdType, tagKeyType and tagValueType. */
const EXTERNAL_ID = /^[\w+=,.@:/-]*$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
/** contextAssertionType: 4–2048 characters. */
const MAX_CONTEXT_ASSERTION = 2048;
const AWS_TAGS_CLAIM = 'https://aws.amazon.com/tags';
/** Where an OIDC token carries the source identity for AssumeRoleWithWebIdentity (IAM User Guide). */
const SOURCE_IDENTITY_CLAIM = 'https://aws.amazon.com/source_identity';

interface Deps {
  world: World;
  state: SandboxState;
  verifier: TokenVerifier;
}

type Operation = (p: Params, caller: Caller, deps: Deps) => Promise<EmulatorResponse>;

const OPERATIONS: Record<string, Operation> = {
  AssumeRole: assumeRole,
  AssumeRoleWithWebIdentity: assumeRoleWithWebIdentity,
  GetCallerIdentity: async (_p, caller) => getCallerIdentity(caller),
};

export function createStsService(deps: Deps): ServiceHandler {
  return async (req: EmulatorRequest, caller: Caller) => {
    if (req.method !== 'POST' && req.method !== 'GET') {
      return stsError(405, 'InvalidAction', `The HTTP method ${req.method} is not supported by STS.`);
    }
    const form = new URLSearchParams(req.method === 'GET' ? req.query : req.body.toString('utf8'));
    const action = form.get('Action');
    if (!action) return stsError(400, 'MissingAction', 'The request must contain the parameter Action.');
    const op = OPERATIONS[action];
    if (!op)
      return stsError(
        400,
        'InvalidAction',
        `Could not find operation ${action} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`,
      );
    if (form.get('Version') !== '2011-06-15') {
      return stsError(
        400,
        'InvalidAction',
        `Could not find operation ${action} for version ${form.get('Version') ?? 'NO_VERSION_SPECIFIED'}`,
      );
    }
    if (caller.kind === 'anonymous' && action !== 'AssumeRoleWithWebIdentity') {
      return stsError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    }
    const name = `sts:${action}`;
    countCall(deps.state, name);
    const fault = await takeFault(deps.state, name);
    if (fault?.kind === 'throttle') return stsError(400, 'Throttling', 'Rate exceeded');
    if (fault?.kind === 'serverError')
      return stsError(500, 'InternalFailure', 'The sandbox was told to fail this call.');
    if (fault?.kind === 'error') return stsError(fault.status, fault.code, fault.message);
    try {
      return await op(new Params(form), caller, deps);
    } catch (err) {
      if (err instanceof StsFault) return err.toResponse();
      throw err;
    }
  };
}

function principalOf(caller: Caller): { account: string; arn: string; userId: string } {
  if (caller.kind === 'base') {
    return {
      account: caller.credentials.accountId,
      arn: caller.credentials.arn,
      userId: userIdOf(caller.credentials.accessKeyId),
    };
  }
  if (caller.kind === 'session') {
    const s = caller.session;
    return {
      account: s.accountId,
      arn: s.assumedRoleArn,
      userId: `${roleUniqueId({ arn: s.roleArn })}:${s.sessionName}`,
    };
  }
  throw new StsFault(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
}

const userIdOf = (accessKeyId: string) => `AIDA${accessKeyId.slice(4)}`;

function getCallerIdentity(caller: Caller): EmulatorResponse {
  const p = principalOf(caller);
  return stsResult('GetCallerIdentity', { Arn: p.arn, UserId: p.userId, Account: p.account });
}

function readCommon(p: Params) {
  const roleArn = p.string('RoleArn', { required: true, min: 20, max: 2048 })!;
  const sessionName = p.string('RoleSessionName', {
    required: true,
    min: 2,
    max: 64,
    pattern: SESSION_NAME,
  })!;
  if (!ROLE_ARN.test(roleArn)) throw validation(`${roleArn.length > 100 ? 'RoleArn' : roleArn} is invalid`);
  const duration = p.integer('DurationSeconds', 900, 43200);
  return { roleArn, sessionName, duration };
}

function checkDuration(role: Role, requested: number | undefined, chained: boolean): number {
  const duration = requested ?? 3600;
  if (chained && duration > CHAINED_MAX_SECONDS) {
    throw validation(
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  }
  if (duration > role.maxSessionDuration) {
    throw validation('The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
  }
  return duration;
}

function readTags(p: Params): Record<string, string> {
  const tags: Record<string, string> = {};
  const seen = new Set<string>();
  const members = p.members('Tags', ['Key', 'Value']);
  if (members.length > 50)
    throw validation(
      "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50",
    );
  for (const m of members) {
    const key = m['Key'];
    const value = m['Value'];
    if (!key || key.length > 128 || value === undefined || value.length > 256) {
      throw validation(
        '1 validation error detected: a session tag needs a Key (1-128 characters) and a Value (0-256 characters).',
      );
    }
    if (!TAG_KEY.test(key) || !TAG_VALUE.test(value)) {
      throw validation(
        `1 validation error detected: a session tag's Key must match ${TAG_KEY.source} and its Value ${TAG_VALUE.source}.`,
      );
    }
    if (seen.has(key.toLowerCase()))
      throw new StsFault(
        400,
        'InvalidParameterValue',
        `Duplicate tag keys found. Please note that Tag keys are case insensitive.`,
      );
    seen.add(key.toLowerCase());
    tags[key] = value;
  }
  return tags;
}

async function assumeRole(p: Params, caller: Caller, { world, state }: Deps): Promise<EmulatorResponse> {
  const { roleArn, sessionName, duration } = readCommon(p);
  p.string('ExternalId', { min: 2, max: 1224, pattern: EXTERNAL_ID });
  const requestedSource = p.string('SourceIdentity', { min: 2, max: 64, pattern: SOURCE_IDENTITY });
  const tags = readTags(p);
  const contexts = p.members('ProvidedContexts', ['ProviderArn', 'ContextAssertion']);
  const principal = principalOf(caller);
  const denied = (action: string) =>
    accessDenied(`User: ${principal.arn} is not authorized to perform: ${action} on resource: ${roleArn}`);
  const role = findRole(world, roleArn);
  if (
    !role ||
    !role.trust.actions.includes('sts:AssumeRole') ||
    !role.trust.principalAccounts.includes(principal.account)
  ) {
    throw denied('sts:AssumeRole');
  }
  // Trust policy conditions on required request tags fail the AssumeRole itself.
  for (const key of role.trust.requiredTagKeys ?? []) if (!(key in tags)) throw denied('sts:AssumeRole');
  if (Object.keys(tags).length && !role.trust.actions.includes('sts:TagSession'))
    throw denied('sts:TagSession');
  const chained = caller.kind === 'session';
  const inherited = chained ? caller.session.sourceIdentity : undefined;
  if (inherited !== undefined && requestedSource !== undefined && requestedSource !== inherited) {
    throw accessDenied(
      `User: ${principal.arn} is not authorized to perform: sts:SetSourceIdentity on resource: ${roleArn}: the calling session's source identity cannot be changed.`,
    );
  }
  // Set once, then carried along a role chain; setting or carrying it needs the role's trust.
  const sourceIdentity = inherited ?? requestedSource;
  if (sourceIdentity !== undefined && !role.trust.actions.includes('sts:SetSourceIdentity'))
    throw denied('sts:SetSourceIdentity');
  const durationSeconds = checkDuration(role, duration, chained);

  let identity: SessionIdentity | undefined;
  if (contexts.length) {
    if (contexts.length > 5)
      throw validation(
        "1 validation error detected: Value at 'providedContexts' failed to satisfy constraint: Member must have length less than or equal to 5",
      );
    if (!role.trust.actions.includes('sts:SetContext')) throw denied('sts:SetContext');
    identity = readProvidedContext(contexts, state, tags);
  }
  const session = issueSession(state, {
    role,
    sessionName,
    durationSeconds,
    tags,
    identity,
    sourceIdentity,
    chained,
  });
  return stsResult('AssumeRole', {
    Credentials: credentialsXml(session),
    AssumedRoleUser: assumedRoleUserXml(role, session),
    PackedPolicySize: Object.keys(tags).length ? Math.min(100, 6 + Object.keys(tags).length * 3) : undefined,
    SourceIdentity: sourceIdentity,
  });
}

function readProvidedContext(
  contexts: Array<Record<string, string | undefined>>,
  state: SandboxState,
  tags: Record<string, string>,
): SessionIdentity {
  let identity: SessionIdentity | undefined;
  for (const c of contexts) {
    const provider = c['ProviderArn'];
    const assertion = c['ContextAssertion'];
    if (
      !provider ||
      provider.length < 20 ||
      provider.length > 2048 ||
      !assertion ||
      assertion.length < 4 ||
      assertion.length > MAX_CONTEXT_ASSERTION
    ) {
      throw validation(
        `1 validation error detected: each ProvidedContexts member needs a ProviderArn (20-2048 characters) and a ContextAssertion (4-${MAX_CONTEXT_ASSERTION} characters).`,
      );
    }
    if (provider !== IDENTITY_CENTER_CONTEXT_PROVIDER) {
      throw new StsFault(400, 'InvalidParameterValue', `The context provider ${provider} is not supported.`);
    }
    const check = readIdentityContext(state.signingKey, assertion);
    if (!check.ok) {
      if (check.problem === 'expired') {
        throw new StsFault(400, 'ExpiredTokenException', 'The provided context assertion has expired.');
      }
      throw new StsFault(
        400,
        'InvalidParameterValue',
        'The provided context assertion is invalid: it could not be verified.',
      );
    }
    identity = { ...check.identity };
  }
  if (identity!.kind === 'data-accessor') {
    // The Q data plane compares this with the data accessor's tenant.
    const tenant = tags[DATA_ACCESSOR_EXTERNAL_ID_TAG];
    if (tenant === undefined) delete identity!.tenantId;
    else identity!.tenantId = tenant;
  }
  return identity!;
}

async function assumeRoleWithWebIdentity(p: Params, _caller: Caller, { world, state, verifier }: Deps) {
  const { roleArn, sessionName, duration } = readCommon(p);
  const token = p.string('WebIdentityToken', { required: true, min: 4, max: 20000 })!;
  p.string('ProviderId', { min: 4, max: 2048 });
  const role = findRole(world, roleArn);
  const trust = role?.trust.webIdentity;
  if (!role || !trust || !role.trust.actions.includes('sts:AssumeRoleWithWebIdentity')) {
    throw accessDenied('Not authorized to perform sts:AssumeRoleWithWebIdentity');
  }
  const invalid = (message: string) => new StsFault(400, 'InvalidIdentityToken', message);
  let peeked;
  try {
    peeked = verifier.peek(token);
  } catch {
    throw invalid(
      'The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)',
    );
  }
  if (peeked.iss !== trust.issuerUrl)
    throw invalid(`No OpenIDConnect provider found in your account for ${String(peeked.iss)}`);
  let claims;
  try {
    claims = await verifier.verify(token, trust.issuerUrl);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    if (err.problem === 'expired') {
      throw new StsFault(
        400,
        'ExpiredTokenException',
        'Token expired: current date/time must be before the expiration date/time.',
      );
    }
    if (err.problem === 'unreachable')
      throw new StsFault(
        400,
        'IDPCommunicationError',
        "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements",
      );
    throw invalid(
      "Couldn't verify the signature of the web identity token with the identity provider's keys.",
    );
  }
  const aud = audiences(claims);
  if (!aud.some((a) => trust.audiences.includes(a))) throw invalid('Incorrect token audience');
  const tagsClaim = claims[AWS_TAGS_CLAIM] as { principal_tags?: Record<string, unknown> } | undefined;
  const emailTag = tagsClaim?.principal_tags?.['Email'];
  const email = Array.isArray(emailTag) ? emailTag[0] : emailTag;
  if (typeof email !== 'string' || !email) {
    throw accessDenied(
      `Not authorized to perform sts:AssumeRoleWithWebIdentity: the trust policy of ${role.arn} requires the principal tag Email (claim ${AWS_TAGS_CLAIM} principal_tags.Email)`,
    );
  }
  const sourceIdentity = webSourceIdentity(claims[SOURCE_IDENTITY_CLAIM], role);
  const durationSeconds = checkDuration(role, duration, false);
  const sub = String(claims.sub ?? '');
  const session = issueSession(state, {
    role,
    sessionName,
    durationSeconds,
    tags: { Email: email },
    identity: { kind: 'iam-federation', userId: sub, email, groups: [] },
    sourceIdentity,
    chained: false,
  });
  return stsResult('AssumeRoleWithWebIdentity', {
    Credentials: credentialsXml(session),
    SubjectFromWebIdentityToken: sub,
    AssumedRoleUser: assumedRoleUserXml(role, session),
    PackedPolicySize: 6,
    // The model: "For OpenID Connect ID tokens, this contains the value of the iss field."
    Provider: trust.issuerUrl,
    Audience: aud[0],
    SourceIdentity: sourceIdentity,
  });
}

/** The token's source identity claim, held to sourceIdentityType; setting it needs the role's trust. */
function webSourceIdentity(claim: unknown, role: Role): string | undefined {
  if (claim === undefined) return undefined;
  if (typeof claim !== 'string' || claim.length < 2 || claim.length > 64 || !SOURCE_IDENTITY.test(claim)) {
    throw new StsFault(
      400,
      'InvalidIdentityToken',
      `The ${SOURCE_IDENTITY_CLAIM} claim must be 2-64 characters matching ${SOURCE_IDENTITY.source}.`,
    );
  }
  if (!role.trust.actions.includes('sts:SetSourceIdentity')) {
    throw accessDenied(
      `Not authorized to perform sts:SetSourceIdentity: the trust policy of ${role.arn} does not allow it.`,
    );
  }
  return claim;
}
