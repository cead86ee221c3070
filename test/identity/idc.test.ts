/**
 * @module idc mode (design 2a) against the sandbox: end to end, one exchange chain for 50 cold callers,
 * exactly one re-exchange after expiry, the recoveries (reused assertion, throttling) and every typed
 * error of a misconfigured IdC setup, with no secret in messages or logs.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { AwsCredentialIdentity } from '@smithy/types';
import { isQindexError, type QindexError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSignIn } from '../../src/auth/index.js';
import { createCredentialProvider } from '../../src/identity/index.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { configFor } from '../helpers/config.js';
import { useSandbox } from '../helpers/sandbox.js';
import { callerArn, countersSince, search, signedIn, silent } from './harness.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => {
      expect(isQindexError(e)).toBe(true);
      return e as QindexError;
    },
  );

/** Calls STS like a Q call would, renewing once if AWS says the session expired. */
async function useCredentials(
  provider: { (): Promise<AwsCredentialIdentity>; invalidate(stale?: AwsCredentialIdentity): void },
  config: Parameters<typeof callerArn>[0],
): Promise<string> {
  const creds = await provider();
  try {
    return await callerArn(config, creds);
  } catch (e) {
    if ((e as Error).name !== 'ExpiredToken') throw e;
    provider.invalidate(creds);
    return callerArn(config, await provider());
  }
}

describe('idc: the chain', () => {
  it('signed-in profile → CreateTokenWithIAM → AssumeRole with context → credentials STS and Q accept', async () => {
    const sb = sandbox();
    const { config, control, provider } = await signedIn(sb, 'idc', 'alice');
    const before = await control.counters();
    const creds = await provider();
    expect(await callerArn(config, creds)).toMatch(
      /assumed-role\/QIndexMcpIdcRole\/qindex-mcp-alice@example\.com$/,
    );
    const found = await search(config, creds, 'travel expense policy');
    expect(found.relevantContent?.length).toBeGreaterThan(0);
    expect(await countersSince(control, before)).toMatchObject({
      'idp:token': 1,
      'sso-oauth:CreateTokenWithIAM': 1,
      'sts:AssumeRole': 1,
    });
    expect(provider.identity()).toEqual({
      mode: 'idc',
      subject: subjectOf('alice'),
      email: 'alice@example.com',
      issuer: sb.description.issuer,
    });
  });

  it('50 concurrent callers on a cold cache: exactly one exchange chain', async () => {
    const { config, control, provider } = await signedIn(sandbox(), 'idc', 'bob');
    const before = await control.counters();
    const all = await Promise.all(Array.from({ length: 50 }, () => provider()));
    expect(new Set(all.map((c) => c.accessKeyId)).size).toBe(1);
    const delta = await countersSince(control, before);
    expect(delta['idp:token']).toBe(1);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(1);
    expect(delta['sts:AssumeRole']).toBe(1);
    expect(await callerArn(config, all[0]!)).toContain('qindex-mcp-bob@example.com');
  });

  it('sessions expired by AWS: 50 callers renew with exactly one re-exchange', async () => {
    const { config, control, provider } = await signedIn(sandbox(), 'idc', 'carol');
    await provider();
    expect(await control.expireSessions()).toBeGreaterThan(0);
    const before = await control.counters();
    const arns = await Promise.all(Array.from({ length: 50 }, () => useCredentials(provider, config)));
    expect(arns.every((a) => a.endsWith('qindex-mcp-carol@example.com'))).toBe(true);
    const delta = await countersSince(control, before);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(1);
    expect(delta['sts:AssumeRole']).toBe(1);
    expect(delta['idp:token']).toBe(1);
  });

  it('credentials inside the renewal margin: exactly one early re-exchange, and no assertion ever reused', async () => {
    const clock = { t: Date.now() };
    const { control, provider } = await signedIn(sandbox(), 'idc', 'dave', { deps: { now: () => clock.t } });
    const first = await provider();
    const before = await control.counters();
    clock.t = first.expiration!.getTime() - 299_000; // 5-minute margin reached
    const renewed = await Promise.all(Array.from({ length: 50 }, () => provider()));
    expect(new Set(renewed.map((c) => c.accessKeyId))).toEqual(new Set([renewed[0]!.accessKeyId]));
    expect(renewed[0]!.accessKeyId).not.toBe(first.accessKeyId);
    const delta = await countersSince(control, before);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(1);
    expect(delta['sts:AssumeRole']).toBe(1);
    expect((await control.counters()).reusedAssertions).toBe(0);
  });

  it('providers of many users share one configuration and base credentials without mixing users', async () => {
    const sb = sandbox();
    const config = configFor(sb.description, 'idc');
    const base = { ...sb.description.modes.idc.baseCredentials };
    const control = controlClient(sb.description.control);
    const users = ['alice', 'bob', 'carol', 'dave'];
    const arns = await Promise.all(
      users.map(async (username) => {
        const refreshToken = await control.mintRefreshToken({ username, clientId: config.idp.clientId });
        const env = {
          QINDEX_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'qindex-id-')),
          QINDEX_REFRESH_TOKEN: refreshToken,
        };
        const signIn = openSignIn({ ...config, profile: username }, { logger: silent, env });
        const provider = createCredentialProvider(config, {
          freshIdToken: () => signIn.freshIdToken(),
          logger: silent,
          baseCredentials: base,
        });
        return callerArn(config, await provider());
      }),
    );
    expect(arns.map((a) => a.split('/').pop())).toEqual(users.map((u) => `qindex-mcp-${u}@example.com`));
  });
});

describe('idc: recoveries', () => {
  it('an assertion refused as reused is retried once with a fresh ID token', async () => {
    const sb = sandbox();
    let last: string | undefined;
    let replayNext = false;
    const { control, provider, freshIdToken } = await signedIn(sb, 'idc', 'erin', {
      deps: {
        // Replays the previous token once, as a buggy cache would.
        freshIdToken: async () => {
          if (replayNext && last) {
            replayNext = false;
            return last;
          }
          last = await freshIdToken();
          return last;
        },
      },
    });
    await provider();
    replayNext = true;
    provider.invalidate();
    const before = await control.counters();
    const creds = await provider();
    expect(creds.accessKeyId).toBeTruthy();
    const delta = await countersSince(control, before);
    expect(delta.reusedAssertions).toBe(1);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(2);
    expect(delta['sts:AssumeRole']).toBe(1);
  });

  it('throttling is retried with backoff, and the retries are bounded', async () => {
    const { control, provider } = await signedIn(sandbox(), 'idc', 'alice');
    await control.setFault('sso-oauth:CreateTokenWithIAM', { throttle: 1 });
    await control.setFault('sts:AssumeRole', { throttle: 1 });
    let before = await control.counters();
    expect((await provider()).accessKeyId).toBeTruthy();
    let delta = await countersSince(control, before);
    expect(delta['sso-oauth:CreateTokenWithIAM']).toBe(2);
    expect(delta['sts:AssumeRole']).toBe(2);

    await control.setFault('sts:AssumeRole', { throttle: 10 });
    provider.invalidate();
    before = await control.counters();
    const e = await failure(provider());
    expect(e.code).toBe('throttled');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('AWS is throttling sts:AssumeRole (identity context)');
    delta = await countersSince(control, before);
    expect(delta['sts:AssumeRole']).toBe(3);
    await control.clearFaults();
  });
});

describe('idc: typed errors', () => {
  it('the issuer is not a trusted token issuer of the IdC application', async () => {
    const sb = sandbox();
    const arn = sb.world.idcApplications.find((a) => a.arn.endsWith('apl-notrust00001'))!.arn;
    const { provider } = await signedIn(sb, 'idc', 'alice', {
      overrides: { mode: { idcApplicationArn: arn } },
    });
    const e = await failure(provider());
    expect(e.code).toBe('untrusted_issuer');
    expect(e.message).toContain(
      `application ${arn} does not trust tokens from issuer ${sb.description.issuer}`,
    );
    expect(e.remedy).toContain('trusted token issuer');
  });

  it('the audience (client id) is not authorized', async () => {
    const sb = sandbox();
    const { provider } = await signedIn(sb, 'idc', 'alice', {
      overrides: { idp: { clientId: 'unrelated-app' } },
    });
    const e = await failure(provider());
    expect(e.code).toBe('audience_not_authorized');
    expect(e.message).toContain('The ID token audience unrelated-app is not authorized');
    expect(e.remedy).toContain('authorized audiences');
  });

  it('the email is not a user in IAM Identity Center', async () => {
    const { provider } = await signedIn(sandbox(), 'idc', 'mallory');
    const e = await failure(provider());
    expect(e.code).toBe('unknown_user');
    expect(e.message).toContain('no user matching the signed-in email mallory@example.com');
  });

  it("the role's trust policy lacks sts:SetContext", async () => {
    const sb = sandbox();
    const roleArn = sb.world.roles.find((r) => r.name === 'QIndexMcpNoSetContextRole')!.arn;
    const { provider } = await signedIn(sb, 'idc', 'alice', { overrides: { mode: { roleArn } } });
    const e = await failure(provider());
    expect(e.code).toBe('role_trust');
    expect(e.message).toContain(`The trust policy of role ${roleArn} does not allow sts:SetContext`);
    expect(e.remedy).toContain('sts:AssumeRole and sts:SetContext');
  });

  it("the app's AWS secret key is wrong: aws_credentials_invalid, without echoing it", async () => {
    const sb = sandbox();
    const wrong = 'canary-wrong-secret-0123456789abcdefghijklmn';
    const { provider } = await signedIn(sb, 'idc', 'alice', {
      deps: {
        baseCredentials: {
          accessKeyId: sb.description.modes.idc.baseCredentials.accessKeyId,
          secretAccessKey: wrong,
        },
      },
    });
    const e = await failure(provider());
    expect(e.code).toBe('aws_credentials_invalid');
    expect(e.message).toContain('AWS refused the base credentials for sso-oidc:CreateTokenWithIAM');
    expect(`${e.message} ${e.remedy}`).not.toContain(wrong);
  });

  it('an AWS message that quotes an opaque secret does not carry it into the error', async () => {
    const { provider, control } = await signedIn(sandbox(), 'idc', 'dave', {
      overrides: { profile: 'idc-echo' },
    });
    // Shaped like an identity context (base64) and an AWS secret key (40 chars with "/" and "+").
    const context = Buffer.from(`canary-identity-context-${'x'.repeat(60)}`).toString('base64');
    const secretKey = 'canaryS3cr3t/Key+0123456789abcdefghijklm';
    await control.setFault('sts:AssumeRole', {
      error: {
        code: 'ValidationError',
        message: `Value '${context}' at 'providedContexts.1.member.contextAssertion' failed to satisfy constraint; key ${secretKey}`,
        status: 400,
        count: 1,
      },
    });
    const e = await failure(provider());
    expect(e.message).toContain('providedContexts.1.member.contextAssertion');
    for (const secret of [context, secretKey]) expect(`${e.message} ${e.remedy}`).not.toContain(secret);
  });

  it('a revoked login asks to sign in again', async () => {
    const { provider, control } = await signedIn(sandbox(), 'idc', 'bob', {
      overrides: { profile: 'idc-revoked' },
    });
    await control.revokeUser('bob');
    const e = await failure(provider());
    expect(e.code).toMatch(/^(login_expired|not_signed_in)$/);
    expect(e.remedy).toContain('qindex-mcp login --profile idc-revoked');
  });

  it('no ID token, AWS secret or session token reaches messages or logs', async () => {
    const sb = sandbox();
    let logs = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logs += String(chunk);
        cb();
      },
    });
    const logger = createLogger({ level: 'trace', destination: sink });
    const tokens: string[] = [];
    const recording = async (username: string) => {
      let inner: () => Promise<string> = async () => '';
      const s = await signedIn(sb, 'idc', username, {
        deps: {
          logger,
          freshIdToken: async () => {
            const t = await inner();
            tokens.push(t);
            return t;
          },
        },
      });
      inner = s.freshIdToken;
      return s;
    };
    const good = await recording('carol');
    const wrapped = await recording('mallory');
    const creds = await good.provider();
    const e = await failure(wrapped.provider({ forceRefresh: true }));
    const secrets = [
      ...tokens,
      creds.secretAccessKey,
      creds.sessionToken!,
      sb.description.modes.idc.baseCredentials.secretAccessKey,
    ];
    expect(tokens).toHaveLength(2);
    const said = `${logs}\n${e.message}\n${e.remedy}`;
    expect(logs).toContain('identity exchange');
    for (const s of secrets) expect(said).not.toContain(s);
  });
});
