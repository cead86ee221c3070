/**
 * @module The sandbox's Cognito-like user pool over real sockets: discovery without registration, the
 * operator-added callback URL, the client secret (Basic and in the body), ID token aud = the app client
 * with token_use/jti/tenant, access tokens without aud, `resource` ignored, refresh tokens that rotate only
 * when switched on, and the data accessor's TTI taking that ID token only (the emulator records each try).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { decodeJwt } from 'jose';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient, ControlError } from '../../tools/sandbox/control-client.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';
import { DATA_ACCESSOR_EXTERNAL_ID_TAG } from '../../tools/sandbox/world.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
const pool = () => sandbox().description.cognito;
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

afterEach(async () => {
  await control().reset();
});

async function discovery() {
  return (await (await fetch(`${pool().issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    string
  >;
}

/** A fetch that keeps cookies by hand and never follows redirects. */
function browserless() {
  const jar = new Map<string, string>();
  return async (url: string, init: RequestInit = {}) => {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...init.headers, cookie } });
    for (const set of res.headers.getSetCookie()) {
      const pair = set.split(';')[0]!;
      const name = pair.slice(0, pair.indexOf('=')).trim();
      const value = pair.slice(pair.indexOf('=') + 1);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(set)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
}

/** Signs in through the pool's own pages; returns where the browser was sent at the end. */
async function signIn(opts: { username: string; redirectUri: string; extra?: Record<string, string> }) {
  const meta = await discovery();
  const get = browserless();
  const url = new URL(meta.authorization_endpoint!);
  url.search = new URLSearchParams({
    client_id: pool().clientId,
    response_type: 'code',
    redirect_uri: opts.redirectUri,
    scope: 'openid email profile',
    state: 'st-9',
    ...opts.extra,
  }).toString();
  let res = await get(url.href);
  while (res.status === 302 || res.status === 303) {
    const next = new URL(res.headers.get('location')!, pool().issuer).href;
    if (!next.startsWith(pool().issuer)) return { url: next, status: res.status, html: '' };
    res = await get(next);
  }
  const html = await res.text();
  if (!html.includes('name="login"')) return { url: res.url, status: res.status, html };
  const action = new URL(/<form[^>]*action="([^"]+)"/.exec(html)![1]!, pool().issuer).href;
  res = await get(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ login: opts.username, password: `${opts.username}-pw` }),
  });
  while (res.status === 302 || res.status === 303) {
    const next = new URL(res.headers.get('location')!, pool().issuer).href;
    if (!next.startsWith(pool().issuer)) return { url: next, status: res.status, html: '' };
    res = await get(next);
  }
  return { url: res.url, status: res.status, html: await res.text() };
}

const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

async function token(params: Record<string, string>, auth: 'basic' | 'post' | 'none' = 'basic') {
  const meta = await discovery();
  const body = new URLSearchParams(params);
  const headers: Record<string, string> = {};
  if (auth === 'basic') headers.authorization = basic(pool().clientId, pool().clientSecret);
  if (auth === 'post') {
    body.set('client_id', pool().clientId);
    body.set('client_secret', pool().clientSecret);
  }
  if (auth === 'none') body.set('client_id', pool().clientId);
  const res = await fetch(meta.token_endpoint!, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

let port = 47100;
/** A callback URL the operator has added, and a signed-in code for it. */
async function codeFor(username: string, extra?: Record<string, string>) {
  const redirectUri = `http://127.0.0.1:${port++}/oauth/callback`;
  await control().addCognitoCallbackUrl(redirectUri);
  const done = await signIn({ username, redirectUri, extra });
  const url = new URL(done.url);
  expect(url.origin + url.pathname).toBe(redirectUri);
  return { code: url.searchParams.get('code')!, redirectUri, state: url.searchParams.get('state') };
}

describe('Cognito-like pool: discovery and sign-in', () => {
  it('has no registration endpoint and names its own endpoints', async () => {
    const meta = await discovery();
    expect(meta.issuer).toBe(pool().issuer);
    expect(meta).not.toHaveProperty('registration_endpoint');
    expect(meta.token_endpoint).toBe(`${pool().issuer}/oauth2/token`);
    expect(meta.authorization_endpoint).toBe(`${pool().issuer}/oauth2/authorize`);
    expect(meta.jwks_uri).toBe(`${pool().issuer}/.well-known/jwks.json`);
    expect(pool().issuer).not.toBe(sandbox().description.issuer);
  });

  it('refuses a callback URL until the operator adds it (exact match, port included)', async () => {
    const redirectUri = `http://127.0.0.1:${port++}/oauth/callback`;
    const before = await signIn({ username: 'alice', redirectUri });
    expect(before.status).toBe(400);
    expect(before.html).toContain('redirect_uri');
    const urls = await control().addCognitoCallbackUrl(redirectUri);
    expect(urls).toContain(redirectUri);
    const after = await signIn({ username: 'alice', redirectUri });
    expect(new URL(after.url).searchParams.get('code')).toBeTruthy();
    const otherPort = redirectUri.replace(/:(\d+)\//, (_m, p: string) => `:${Number(p) + 1000}/`);
    expect((await signIn({ username: 'alice', redirectUri: otherPort })).status).toBe(400);
    await expect(control().addCognitoCallbackUrl('not a url')).rejects.toBeInstanceOf(ControlError);
  });

  it('needs the client secret, Basic or in the body', async () => {
    const a = await codeFor('alice');
    const none = await token(
      { grant_type: 'authorization_code', code: a.code, redirect_uri: a.redirectUri },
      'none',
    );
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('invalid_client');
    const wrong = await fetch((await discovery()).token_endpoint!, {
      method: 'POST',
      headers: { authorization: basic(pool().clientId, 'not-the-secret') },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: a.code,
        redirect_uri: a.redirectUri,
      }),
    });
    expect(wrong.status).toBe(401);
    const b = await codeFor('bob');
    const viaBasic = await token({
      grant_type: 'authorization_code',
      code: b.code,
      redirect_uri: b.redirectUri,
    });
    expect(viaBasic.status).toBe(200);
    const c = await codeFor('carol');
    const viaPost = await token(
      { grant_type: 'authorization_code', code: c.code, redirect_uri: c.redirectUri },
      'post',
    );
    expect(viaPost.status).toBe(200);
  });

  it('ID token aud = the app client (token_use, jti, tenant); access token: client_id, no aud; resource ignored', async () => {
    const { code, redirectUri, state } = await codeFor('dave', {
      resource: 'https://mcp.sandbox.example/mcp',
    });
    expect(state).toBe('st-9');
    const tokens = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    expect(tokens.status).toBe(200);
    expect(tokens.body.refresh_token).toEqual(expect.any(String));
    const id = decodeJwt(tokens.body.id_token!);
    expect(id).toMatchObject({
      iss: pool().issuer,
      aud: pool().clientId,
      sub: subjectOf('dave'),
      token_use: 'id',
      email: 'dave@example.com',
      'cognito:username': 'dave',
      [pool().tenantClaim]: 'globex',
    });
    expect(id.jti).toEqual(expect.any(String));
    // What it handed out is known in-process, for canary checks elsewhere.
    for (const t of [tokens.body.id_token!, tokens.body.access_token!, tokens.body.refresh_token!]) {
      expect(sandbox().state.issuedSecrets.has(t)).toBe(true);
    }
    const access = decodeJwt(tokens.body.access_token!);
    expect(access).not.toHaveProperty('aud');
    expect(access).toMatchObject({
      iss: pool().issuer,
      client_id: pool().clientId,
      token_use: 'access',
      sub: subjectOf('dave'),
    });
    const me = await fetch((await discovery()).userinfo_endpoint!, {
      headers: { authorization: `Bearer ${tokens.body.access_token}` },
    });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { sub: string }).sub).toBe(subjectOf('dave'));
  });
});

describe('Cognito-like pool: refresh tokens', () => {
  it('do not rotate by default: the same one works again, the answer carries none', async () => {
    const { code, redirectUri } = await codeFor('alice');
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const refresh = first.body.refresh_token!;
    const jtis = new Set<unknown>();
    for (let i = 0; i < 2; i++) {
      const again = await token({ grant_type: 'refresh_token', refresh_token: refresh });
      expect(again.status).toBe(200);
      expect(again.body).not.toHaveProperty('refresh_token');
      expect(decodeJwt(again.body.id_token!).aud).toBe(pool().clientId);
      jtis.add(decodeJwt(again.body.id_token!).jti);
    }
    expect(jtis.size).toBe(2);
    expect((await control().counters())['cognito:token']).toBe(3);
  });

  it('rotate when switched on, and a spent one revokes the grant', async () => {
    await control().setSwitches({ cognitoRotateRefreshTokens: true });
    const { code, redirectUri } = await codeFor('bob');
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const next = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token! });
    expect(next.status).toBe(200);
    expect(next.body.refresh_token).toEqual(expect.any(String));
    expect(next.body.refresh_token).not.toBe(first.body.refresh_token);
    const replay = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token! });
    expect(replay.body.error).toBe('invalid_grant');
    const after = await token({ grant_type: 'refresh_token', refresh_token: next.body.refresh_token! });
    expect(after.body.error).toBe('invalid_grant');
  });
});

describe("Cognito-like pool: the data accessor's trusted token issuer", () => {
  it('takes the ID token (aud = the registered client) and refuses the access token; records both, never the token', async () => {
    const mode = pool().tenants.acme!;
    expect(mode.issuer).toBe(pool().issuer);
    expect(mode.clientId).toBe(pool().clientId);
    const { code, redirectUri } = await codeFor('alice');
    const tokens = await token({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    const endpoint = sandbox().description.awsEndpoint;
    const assumed = await new STSClient({
      endpoint,
      region: 'us-east-1',
      credentials: mode.baseCredentials,
    }).send(
      new AssumeRoleCommand({
        RoleArn: mode.roleArn,
        RoleSessionName: 'isv-alice',
        Tags: [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: mode.tenantId }],
      }),
    );
    const c = assumed.Credentials!;
    const sso = new SSOOIDCClient({
      endpoint,
      region: mode.idcRegion,
      maxAttempts: 1,
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      },
    });
    const ok = await sso.send(
      new CreateTokenWithIAMCommand({
        clientId: mode.idcApplicationArn,
        grantType: JWT_BEARER,
        assertion: tokens.body.id_token!,
      }),
    );
    expect(ok.awsAdditionalDetails?.identityContext).toBeTruthy();
    const refused = await sso
      .send(
        new CreateTokenWithIAMCommand({
          clientId: mode.idcApplicationArn,
          grantType: JWT_BEARER,
          assertion: tokens.body.access_token!,
        }),
      )
      .catch((e: unknown) => e as { error_description?: string });
    expect(refused).toMatchObject({ name: 'InvalidGrantException', error: 'invalid_grant' });
    expect((refused as { error_description: string }).error_description).toContain('audience not authorized');

    const records = await control().assertions();
    expect(records).toEqual([
      { iss: pool().issuer, aud: [pool().clientId], clientId: mode.idcApplicationArn, outcome: 'ok' },
      expect.objectContaining({
        iss: pool().issuer,
        aud: [],
        tokenClientId: pool().clientId,
        outcome: 'invalid_grant',
      }),
    ]);
    const text = JSON.stringify(records);
    expect(text).not.toContain(tokens.body.id_token!);
    expect(text).not.toContain(tokens.body.access_token!.split('.')[2]!);
    expect(text).not.toContain(pool().clientSecret);
  });

  it('refuses an ID token of the main IdP for the pool client (its TTI is for the pool issuer only)', async () => {
    const mode = pool().tenants.globex!;
    const idToken = await control().mintIdToken({ username: 'dave', audience: pool().clientId });
    const assumed = await new STSClient({
      endpoint: sandbox().description.awsEndpoint,
      region: 'us-east-1',
      credentials: mode.baseCredentials,
    }).send(
      new AssumeRoleCommand({
        RoleArn: mode.roleArn,
        RoleSessionName: 'isv-dave',
        Tags: [{ Key: DATA_ACCESSOR_EXTERNAL_ID_TAG, Value: mode.tenantId }],
      }),
    );
    const c = assumed.Credentials!;
    const err = await new SSOOIDCClient({
      endpoint: sandbox().description.awsEndpoint,
      region: mode.idcRegion,
      maxAttempts: 1,
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken!,
      },
    })
      .send(
        new CreateTokenWithIAMCommand({
          clientId: mode.idcApplicationArn,
          grantType: JWT_BEARER,
          assertion: idToken,
        }),
      )
      .catch((e: unknown) => e as { error_description?: string });
    expect((err as { error_description: string }).error_description).toContain('audience not authorized');
    expect(await control().assertions()).toEqual([
      expect.objectContaining({
        iss: sandbox().description.issuer,
        aud: [pool().clientId],
        outcome: 'invalid_grant',
      }),
    ]);
  });
});
