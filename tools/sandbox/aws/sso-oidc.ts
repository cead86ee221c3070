/**
 * @module The sso-oidc emulator (restJson1, SigV4 service `sso-oauth`): CreateTokenWithIAM with the
 * jwt-bearer grant (trusted token issuers), authorization_code (codes from the emulated /authorize)
 * and refresh_token. Answers carry an identity context for STS ProvidedContexts; errors are
 * OAuth-style `{error, error_description}` with `x-amzn-errortype`, each saying its cause.
 */
import { createHash } from 'node:crypto';
import { SignJWT } from 'jose';
import {
  countCall,
  takeFault,
  type AssertionRecord,
  type SandboxState,
  type SessionIdentity,
} from '../state.js';
import {
  DATA_ACCESSOR_EXTERNAL_ID_TAG,
  findDataAccessorByIdcApp,
  findIdcApplication,
  findUserByEmail,
  type IdcApplication,
  type SandboxUser,
  type World,
} from '../world.js';
import { oauthError, restJsonError, restJsonResponse } from './errors.js';
import { idcUserId, issueIdentityContext } from './identity-context.js';
import { opaqueToken, takeOnce, type IdcStore } from './idc-store.js';
import { TokenRejected, audiences, type TokenVerifier } from './jwt.js';
import type { Caller, EmulatorRequest, EmulatorResponse, ServiceHandler, SigningScope } from './types.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const KNOWN_GRANTS = [
  JWT_BEARER,
  'authorization_code',
  'refresh_token',
  'urn:ietf:params:oauth:grant-type:token-exchange',
];
const TOKEN_SECONDS = 3600;
const REFRESH_SECONDS = 90 * 24 * 3600;
const OPERATION = 'sso-oauth:CreateTokenWithIAM';
export const IDC_INSTANCE_ISSUER = 'https://identitycenter.amazonaws.com/ssoins-7223sandbox0001';
const IDENTITY_STORE_ID = 'd-sandbox0001';

interface Deps {
  world: World;
  state: SandboxState;
  verifier: TokenVerifier;
  store: IdcStore;
}

/** A CreateTokenWithIAM refusal, already in sso-oidc's error shape. */
class OidcFault extends Error {
  constructor(
    readonly response: EmulatorResponse,
    readonly error: string,
    readonly description: string,
  ) {
    super('sso-oidc fault');
  }
}

const fault = (status: number, type: string, error: string, description: string) =>
  new OidcFault(oauthError(status, type, error, description), error, description);
const invalidRequest = (d: string) => fault(400, 'InvalidRequestException', 'invalid_request', d);
const invalidGrant = (d: string) => fault(400, 'InvalidGrantException', 'invalid_grant', d);
const accessDenied = (d: string) => fault(400, 'AccessDeniedException', 'access_denied', d);

type Body = Record<string, unknown>;

export function createSsoOidcService(deps: Deps): ServiceHandler {
  return async (req: EmulatorRequest, caller: Caller, scope: SigningScope | undefined) => {
    if (req.method !== 'POST' || req.path !== '/token' || req.query.get('aws_iam') !== 't') {
      return restJsonError(
        404,
        'UnknownOperationException',
        `No sso-oidc operation at ${req.method} ${req.path}.`,
      );
    }
    countCall(deps.state, OPERATION);
    const armed = await takeFault(deps.state, OPERATION);
    if (armed?.kind === 'throttle') return restJsonError(400, 'ThrottlingException', 'Rate exceeded');
    if (armed?.kind === 'serverError') {
      return oauthError(
        500,
        'InternalServerException',
        'server_error',
        'The sandbox was told to fail this call.',
      );
    }
    if (armed?.kind === 'error') return oauthError(armed.status, armed.code, 'error', armed.message);
    try {
      return await createTokenWithIam(parseBody(req.body), caller, scope?.region, deps);
    } catch (err) {
      if (err instanceof OidcFault) return err.response;
      throw err;
    }
  };
}

function parseBody(raw: Buffer): Body {
  let body: unknown;
  try {
    body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
  } catch {
    throw invalidRequest('The request body is not valid JSON.');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw invalidRequest('The request body must be a JSON object.');
  const b = body as Body;
  for (const k of [
    'clientId',
    'grantType',
    'code',
    'refreshToken',
    'assertion',
    'redirectUri',
    'codeVerifier',
    'subjectToken',
    'subjectTokenType',
    'requestedTokenType',
  ]) {
    if (b[k] !== undefined && typeof b[k] !== 'string') throw invalidRequest(`Field ${k} must be a string.`);
  }
  if (
    b['scope'] !== undefined &&
    (!Array.isArray(b['scope']) || b['scope'].some((s) => typeof s !== 'string'))
  ) {
    throw invalidRequest('Field scope must be a list of strings.');
  }
  return b;
}

const str = (b: Body, k: string) => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
const required = (b: Body, k: string) => {
  const v = str(b, k);
  if (!v) throw invalidRequest(`Missing required parameter: ${k}.`);
  return v;
};

async function createTokenWithIam(
  body: Body,
  caller: Caller,
  region: string | undefined,
  deps: Deps,
): Promise<EmulatorResponse> {
  const clientId = required(body, 'clientId');
  const grantType = required(body, 'grantType');
  // sso-oidc is regional: another region's endpoint does not know the instance's applications.
  const app = region === deps.world.idcRegion ? findIdcApplication(deps.world, clientId) : undefined;
  if (!app)
    throw fault(
      401,
      'InvalidClientException',
      'invalid_client',
      `Client ${clientId} is not an application of an IAM Identity Center instance in ${region ?? 'this region'}.`,
    );
  if (!KNOWN_GRANTS.includes(grantType))
    throw fault(
      400,
      'UnsupportedGrantTypeException',
      'unsupported_grant_type',
      `Grant type ${grantType} is not supported.`,
    );
  if (!(app.grants as string[]).includes(grantType)) {
    throw fault(
      400,
      'UnauthorizedClientException',
      'unauthorized_client',
      `The application is not configured for the ${grantType} grant.`,
    );
  }
  checkCaller(deps.world, app, caller);
  const scopes = (body['scope'] as string[] | undefined) ?? ['openid', 'aws', 'sts:identity_context'];
  let user: SandboxUser;
  if (grantType === JWT_BEARER) user = await recorded(required(body, 'assertion'), app, deps);
  else if (grantType === 'authorization_code') user = authorizationCode(body, app, deps);
  else user = refreshToken(required(body, 'refreshToken'), app, deps);
  const withContext = grantType !== 'refresh_token' || deps.state.switches.refreshGrantIdentityContext;
  return issueTokens(deps, app, user, scopes, withContext);
}

/** Who may exchange for this application: its own account, or for a data accessor the ISV's tenant-tagged session. */
function checkCaller(world: World, app: IdcApplication, caller: Caller): void {
  const da = findDataAccessorByIdcApp(world, app.arn);
  const who =
    caller.kind === 'base'
      ? caller.credentials.arn
      : caller.kind === 'session'
        ? caller.session.assumedRoleArn
        : 'anonymous';
  if (!da) {
    const account =
      caller.kind === 'base'
        ? caller.credentials.accountId
        : caller.kind === 'session'
          ? caller.session.accountId
          : '';
    if (account !== app.arn.split(':')[4]) {
      throw accessDenied(
        `User: ${who} is not authorized to perform: sso-oauth:CreateTokenWithIAM on resource: ${app.arn}`,
      );
    }
    return;
  }
  if (caller.kind !== 'session' || caller.session.accountId !== da.principalAccountId) {
    throw accessDenied(
      `User: ${who} is not authorized to use data accessor ${da.dataAccessorId}: the caller must be a role session of account ${da.principalAccountId} carrying the ${DATA_ACCESSOR_EXTERNAL_ID_TAG} session tag.`,
    );
  }
  const tenant = caller.session.tags[DATA_ACCESSOR_EXTERNAL_ID_TAG];
  if (tenant === undefined) {
    throw accessDenied(
      `The role session has no ${DATA_ACCESSOR_EXTERNAL_ID_TAG} session tag: the tenant id is missing.`,
    );
  }
  if (tenant !== da.tenantId) {
    throw accessDenied(
      `The role session's ${DATA_ACCESSOR_EXTERNAL_ID_TAG} tag (${tenant}) does not match the tenant id of data accessor ${da.dataAccessorId}: wrong tenant.`,
    );
  }
}

/** jwtBearer, recording what the assertion claimed and how the call ended (never the token itself). */
async function recorded(assertion: string, app: IdcApplication, deps: Deps): Promise<SandboxUser> {
  let claims: Record<string, unknown> = {};
  try {
    claims = deps.verifier.peek(assertion);
  } catch {
    // not a JWT: recorded without iss/aud
  }
  const tokenClientId = [claims['client_id'], claims['azp']].find((v) => typeof v === 'string') as
    string | undefined;
  const record: AssertionRecord = {
    ...(typeof claims['iss'] === 'string' ? { iss: claims['iss'] } : {}),
    aud: audiences(claims),
    ...(tokenClientId ? { tokenClientId } : {}),
    clientId: app.arn,
    outcome: 'ok',
  };
  deps.state.assertions.push(record);
  try {
    return await jwtBearer(assertion, app, deps);
  } catch (err) {
    record.outcome = err instanceof OidcFault ? err.error : 'server_error';
    if (err instanceof OidcFault) record.reason = err.description;
    throw err;
  }
}

async function jwtBearer(
  assertion: string,
  app: IdcApplication,
  { verifier, state, world }: Deps,
): Promise<SandboxUser> {
  let iss: string | undefined;
  try {
    iss = verifier.peek(assertion).iss;
  } catch {
    throw invalidGrant('The assertion is not a well-formed JWT.');
  }
  const tti = app.trustedTokenIssuers.find((t) => t.issuerUrl === iss);
  if (!tti)
    throw invalidGrant(
      `The assertion was issued by ${String(iss)}, which is not a trusted token issuer of this application (untrusted issuer).`,
    );
  let claims;
  try {
    claims = await verifier.verify(assertion, tti.issuerUrl);
  } catch (err) {
    if (!(err instanceof TokenRejected)) throw err;
    if (err.problem === 'expired') throw invalidGrant('The assertion has expired.');
    if (err.problem === 'unreachable')
      throw invalidGrant("Unable to retrieve the trusted token issuer's signing keys.");
    throw invalidGrant(
      `The assertion could not be verified against the trusted token issuer (${err.problem}).`,
    );
  }
  const aud = audiences(claims);
  if (!aud.some((a) => tti.authorizedAudiences.includes(a))) {
    throw invalidGrant(
      `The assertion's audience ${aud.join(', ')} is not an authorized audience of the trusted token issuer (audience not authorized).`,
    );
  }
  const user = directoryUser(world, claims['email']);
  const digest = createHash('sha256').update(assertion).digest('hex');
  if (state.usedAssertions.has(digest)) {
    state.reusedAssertionCount++;
    if (state.switches.singleUseAssertions) throw invalidGrant('identity token is reused');
  }
  state.usedAssertions.add(digest);
  return user;
}

function directoryUser(world: World, email: unknown): SandboxUser {
  const user = typeof email === 'string' ? findUserByEmail(world, email) : undefined;
  if (!user || !user.inIdentityCenter) {
    throw invalidGrant(
      "No user in the IAM Identity Center directory has the assertion's email as primary email (unknown user).",
    );
  }
  return user;
}

function authorizationCode(body: Body, app: IdcApplication, { store, world }: Deps): SandboxUser {
  const code = takeOnce(store.codes, required(body, 'code'));
  if (!code || code.clientId !== app.arn)
    throw invalidGrant('The authorization code is invalid, expired or already used.');
  if (required(body, 'redirectUri') !== code.redirectUri) {
    throw invalidGrant('The redirect URI does not match the one used at authorization.');
  }
  if (code.codeChallenge) {
    const verifier = str(body, 'codeVerifier');
    if (!verifier) throw invalidGrant('The code verifier is missing (PKCE).');
    const computed =
      code.codeChallengeMethod === 'plain'
        ? verifier
        : createHash('sha256').update(verifier).digest('base64url');
    if (computed !== code.codeChallenge)
      throw invalidGrant('The code verifier does not match the code challenge (PKCE).');
  }
  return directoryUser(world, code.email);
}

function refreshToken(token: string, app: IdcApplication, { store, world }: Deps): SandboxUser {
  const record = takeOnce(store.refreshTokens, token);
  if (!record || record.clientId !== app.arn)
    throw invalidGrant('The refresh token is invalid, expired or revoked.');
  return directoryUser(world, record.email);
}

function identityFor(world: World, app: IdcApplication, user: SandboxUser): SessionIdentity {
  const da = findDataAccessorByIdcApp(world, app.arn);
  return {
    kind: da ? 'data-accessor' : 'idc',
    userId: idcUserId(user),
    email: user.email,
    groups: [...user.groups],
    idcApplicationArn: app.arn,
    qApplicationId: app.qApplicationId,
    ...(da ? { tenantId: da.tenantId, dataAccessorId: da.dataAccessorId } : {}),
  };
}

async function issueTokens(
  deps: Deps,
  app: IdcApplication,
  user: SandboxUser,
  scopes: string[],
  withContext: boolean,
): Promise<EmulatorResponse> {
  const now = Math.floor(Date.now() / 1000);
  const identity = identityFor(deps.world, app, user);
  const identityContext = issueIdentityContext(
    deps.state.signingKey,
    identity,
    new Date((now + TOKEN_SECONDS) * 1000),
  );
  // The claim set of the SDK's documented example: IdC names the user by its user id (`sub`), not by email.
  const account = app.arn.split(':')[4] ?? '';
  const idToken = await new SignJWT({
    'aws:identity_store_id': IDENTITY_STORE_ID,
    'aws:identity_store_arn': `arn:aws:identitystore::${account}:identitystore/${IDENTITY_STORE_ID}`,
    'aws:instance_account': account,
    'aws:instance_arn': `arn:aws:sso:::instance/${IDC_INSTANCE_ISSUER.split('/').pop()}`,
    'aws:credential_id': opaqueToken('', 48),
    'sts:identity_context': identityContext,
    'sts:audit_context': opaqueToken('', 48),
    auth_time: new Date(now * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(IDC_INSTANCE_ISSUER)
    .setSubject(identity.userId)
    .setAudience(app.arn)
    .setIssuedAt(now)
    .setExpirationTime(now + TOKEN_SECONDS)
    .sign(deps.state.signingKey);
  let refresh: string | undefined;
  if (app.grants.includes('refresh_token')) {
    refresh = opaqueToken('aorAAAAAG');
    deps.store.refreshTokens.set(refresh, {
      clientId: app.arn,
      email: user.email,
      scopes,
      expiresAt: Date.now() + REFRESH_SECONDS * 1000,
    });
  }
  const accessToken = opaqueToken('aoaAAAAAG');
  for (const secret of [accessToken, idToken, identityContext, refresh]) {
    if (secret) deps.state.issuedSecrets.add(secret);
  }
  return restJsonResponse(200, {
    accessToken,
    tokenType: 'Bearer',
    expiresIn: TOKEN_SECONDS,
    ...(refresh ? { refreshToken: refresh } : {}),
    // Without a context (refresh grant, switch off) the answer is the SDK example's: no idToken at all.
    ...(withContext ? { idToken } : {}),
    issuedTokenType: 'urn:ietf:params:oauth:token-type:refresh_token',
    scope: scopes,
    ...(withContext ? { awsAdditionalDetails: { identityContext } } : {}),
  });
}
