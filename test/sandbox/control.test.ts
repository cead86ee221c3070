/**
 * @module The sandbox control API over real sockets: describe, reset, faults, switches, session
 * expiry, counters, bad input (400 naming the field, never a crash), and `npm run sandbox`'s
 * one-JSON-line contract.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient, ControlError } from '../../tools/sandbox/control-client.js';
import type { SandboxDescription } from '../../tools/sandbox/description.js';
import { subjectOf } from '../../tools/sandbox/idp/claims.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);

afterEach(async () => {
  await control().reset();
});

async function raw(method: string, path: string, body?: string) {
  const res = await fetch(`${sandbox().description.control}${path}`, {
    method,
    body,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as { error?: string; message?: string } };
}

describe('control API', () => {
  it('describes the sandbox exactly as startSandbox does', async () => {
    const description = await control().describe();
    expect(description).toEqual(JSON.parse(JSON.stringify(sandbox().description)));
    expect(description.control).toBe(sandbox().description.control);
    expect(description.users.map((u) => u.username)).toContain('alice');
  });

  it('arms and clears faults, flips switches, and reset restores the defaults', async () => {
    await control().setFault('qbusiness:SearchRelevantContent', { throttle: 2, latencyMs: 5 });
    await control().setFault('idp:token', {
      error: { code: 'invalid_client', message: 'x', status: 401, count: 1 },
    });
    expect(sandbox().state.faults.get('qbusiness:SearchRelevantContent')).toEqual({
      throttle: 2,
      latencyMs: 5,
    });
    await control().clearFaults();
    expect(sandbox().state.faults.size).toBe(0);

    const switches = await control().setSwitches({ singleUseAssertions: false });
    expect(switches).toEqual({
      singleUseAssertions: false,
      subscriptionQuirk: true,
      idpDown: false,
      refreshGrantIdentityContext: true,
      refreshReuseGraceSeconds: 0,
      cognitoRotateRefreshTokens: false,
    });
    await control().setFault('sts:AssumeRole', { serverError: 1 });
    await fetch(`${sandbox().description.issuer}/token`, { method: 'POST' });
    expect((await control().counters())['idp:token']).toBe(1);

    await control().reset();
    expect(sandbox().state.switches.singleUseAssertions).toBe(true);
    expect(sandbox().state.faults.size).toBe(0);
    expect(await control().counters()).toEqual({ reusedAssertions: 0 });
  });

  it('expires every issued session', async () => {
    const expiration = new Date(Date.now() + 3_600_000);
    sandbox().state.sessions.set('ASIAEXAMPLE', {
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret',
      sessionToken: 'token',
      expiration,
      accountId: '111111111111',
      roleArn: 'arn:aws:iam::111111111111:role/QIndexMcpIdcRole',
      assumedRoleArn: 'arn:aws:sts::111111111111:assumed-role/QIndexMcpIdcRole/s',
      sessionName: 's',
      tags: {},
      chained: false,
    });
    expect(await control().expireSessions()).toBeGreaterThanOrEqual(1);
    expect(sandbox().state.sessions.get('ASIAEXAMPLE')!.expiration.getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('answers bad input with 400 naming the field, and keeps serving', async () => {
    const cases: Array<[string, string, string | undefined, number, RegExp]> = [
      ['POST', '/tokens/id', '{}', 400, /^username:/],
      ['POST', '/tokens/id', '{"username":"nobody"}', 400, /^username: .*nobody/],
      ['POST', '/tokens/id', '{"username":"alice","ttlSeconds":"long"}', 400, /^ttlSeconds:/],
      ['POST', '/tokens/refresh', '{"username":"alice","clientId":"nope"}', 400, /^clientId:/],
      ['POST', '/tokens/refresh', '{"username":"alice","scope":"openid"}', 400, /^scope:.*offline_access/],
      ['POST', '/tokens/access', '{"username":"alice","resource":"not a url"}', 400, /^resource:/],
      ['POST', '/device/approve', '{"userCode":"BCDF-GHJK"}', 400, /^username:/],
      ['POST', '/device/approve', '{"userCode":"BCDF-GHJK","username":"alice"}', 404, /^userCode:/],
      ['POST', '/faults', '{"operation":"bogus","throttle":1}', 400, /^operation:/],
      ['POST', '/faults', '{"operation":"idp:token","throttle":-1}', 400, /^throttle:/],
      ['POST', '/faults', '{"operation":"idp:token","explode":true}', 400, /explode/],
      ['POST', '/faults', '{"operation":"idp:token","error":{"code":"x"}}', 400, /^error\.message:/],
      ['POST', '/switches', '{"idpDown":"yes"}', 400, /^idpDown:/],
      ['POST', '/switches', '[1,2]', 400, /^body:/],
      ['POST', '/reset', '{not json', 400, /^body: not valid JSON/],
      ['POST', '/users/nobody/revoke', undefined, 400, /^username:/],
      ['GET', '/tokens/id', undefined, 405, /POST/],
      ['GET', '/nowhere', undefined, 404, /nowhere/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await raw(method, path, body);
      expect({ path, body, status: res.status }).toEqual({ path, body, status });
      expect(res.body.error).toEqual(expect.any(String));
      expect(res.body.message).toMatch(message);
    }
    // Still alive and still correct.
    expect(await control().mintIdToken({ username: 'alice' })).toMatch(/^ey/);
  });

  it('the client throws ControlError with the status and code', async () => {
    const err = await control()
      .mintIdToken({ username: 'nobody' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlError);
    expect(err).toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('mints ID tokens with audience, lifetime and claim overrides (null removes a claim)', async () => {
    const idToken = await control().mintIdToken({
      username: 'bob',
      audience: 'isv-agent',
      ttlSeconds: -60,
      claims: { 'https://aws.amazon.com/tags': null, extra: 'x' },
    });
    const payload = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()) as Record<
      string,
      unknown
    >;
    expect(payload).toMatchObject({ sub: subjectOf('bob'), aud: 'isv-agent', extra: 'x' });
    expect(payload).not.toHaveProperty('https://aws.amazon.com/tags');
    expect(Number(payload.exp)).toBeLessThan(Date.now() / 1000);
  });
});

/** Waits (bounded) until no process of the group is left: nothing was orphaned. */
async function groupGone(pgid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return true;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe('npm run sandbox', () => {
  it('prints exactly one JSON line with a working issuer, and exits on Ctrl-C', async () => {
    // detached: its own process group, so SIGINT reaches npx, tsx and node like Ctrl-C in a terminal.
    const child = spawn('npx', ['tsx', 'tools/sandbox/main.ts'], {
      cwd: process.cwd(),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    child.stderr.resume();
    const rl = createInterface({ input: child.stdout });
    const first = new Promise<string>((resolve) => rl.once('line', resolve));
    rl.on('line', (l) => lines.push(l));
    const exited = once(child, 'exit');
    try {
      const description = JSON.parse(await first) as SandboxDescription;
      const doc = (await (await fetch(`${description.issuer}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
      };
      expect(doc.issuer).toBe(description.issuer);
      expect(await controlClient(description.control).counters()).toEqual({ reusedAssertions: 0 });
    } finally {
      process.kill(-child.pid!, 'SIGINT');
    }
    const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
    // npm re-raises the signal it got (as a shell would report Ctrl-C); the sandbox itself exits 0.
    expect(code === 0 || signal === 'SIGINT').toBe(true);
    expect(await groupGone(child.pid!)).toBe(true);
    expect(lines).toHaveLength(1);
  });
});
