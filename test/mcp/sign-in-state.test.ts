/**
 * @module The sign-in state as tools see it, through the built CLI over stdio: a client that cannot do
 * URL elicitation never makes the server start a device authorization at the IdP, and whoami reports
 * a login the IdP refused as expired (with what to do) until someone signs in again. Once per protocol
 * era: a 2026-07-28 client declares URL elicitation in each request's `_meta`, not at initialize.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import {
  ERAS,
  ensureBuilt,
  startServer,
  structured,
  text,
  type Era,
  type ServerUnderTest,
} from './harness.js';

const sandbox = useSandbox();

beforeAll(async () => {
  await ensureBuilt();
}, 120_000);

const DEVICE = 'idp:device';
const deviceRequests = async (s: ServerUnderTest) => (await s.control.counters())[DEVICE] ?? 0;
const search = (s: ServerUnderTest) =>
  s.client.callTool({ name: 'search_relevant_content', arguments: { query: 'VPN', maxResults: 1 } });

interface WhoAmI {
  signedIn: boolean;
  status: string;
  remedy?: string;
  user?: { email?: string };
}
const whoami = async (s: ServerUnderTest) => {
  const result = await s.client.callTool({ name: 'whoami', arguments: {} });
  expect(result.isError, text(result)).toBeFalsy();
  return { out: structured<WhoAmI>(result), text: text(result) };
};

describe.each(ERAS)('%s era', (era: Era) => {
  describe('no device authorization for a client that cannot open a URL', () => {
    for (const [label, capabilities] of [
      ['no elicitation', {}],
      ['form elicitation only', { elicitation: {} }],
    ] as const) {
      it(`${label}: says how to sign in, and the IdP saw no device authorization`, async () => {
        const s = await startServer(sandbox(), { signedOut: true, capabilities, era });
        try {
          const before = await deviceRequests(s);
          for (let i = 0; i < 3; i++) {
            const result = await search(s);
            expect(result.isError).toBe(true);
            expect(text(result)).toContain(s.loginCommand);
          }
          expect(await deviceRequests(s)).toBe(before);
        } finally {
          await s.close();
        }
      });
    }

    it('a client with URL elicitation is offered the sign-in (the counter does count)', async () => {
      const s = await startServer(sandbox(), {
        signedOut: true,
        era,
        capabilities: { elicitation: { url: {} } },
      });
      s.client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
      try {
        const before = await deviceRequests(s);
        expect((await search(s)).isError).toBe(true);
        expect(await deviceRequests(s)).toBe(before + 1);
      } finally {
        await s.close();
      }
    });
  });

  describe('whoami after the IdP refused the login', () => {
    it('QINDEX_REFRESH_TOKEN revoked: reports login_expired and what to do, not "Signed in"', async () => {
      const s = await startServer(sandbox(), { username: 'carol', era });
      try {
        expect((await search(s)).isError).toBeFalsy();
        expect((await whoami(s)).out).toMatchObject({ signedIn: true, status: 'signed_in' });
        await s.control.revokeUser('carol');
        await s.control.expireSessions();
        const failed = await search(s);
        expect(failed.isError).toBe(true);
        expect(text(failed)).toMatch(/login_expired/);
        const who = await whoami(s);
        expect(who.out).toMatchObject({
          signedIn: false,
          status: 'login_expired',
          remedy: expect.stringMatching(/QINDEX_REFRESH_TOKEN/),
        });
        expect(who.out.user).toBeUndefined();
        expect(who.text).toMatch(/^Signed out \(the sign-in expired or was revoked\)/);
        expect(who.text).toMatch(/What to do: .*QINDEX_REFRESH_TOKEN/);
        expect(who.text).not.toMatch(/Signed in as/);
      } finally {
        await s.close();
      }
    });

    it('a stored login revoked: expired until the user signs in again, then signed in', async () => {
      const s = await startServer(sandbox(), {
        signedOut: true,
        era,
        capabilities: { elicitation: { url: {} } },
      });
      let approve = true;
      s.client.setRequestHandler('elicitation/create', async (request) => {
        if (!approve) return { action: 'decline' };
        const url = (request.params as { url: string }).url;
        const userCode = new URL(url).searchParams.get('user_code')!;
        await s.control.approveDevice({ userCode, username: 'erin' });
        return { action: 'accept' };
      });
      try {
        expect((await search(s)).isError).toBeFalsy();
        expect((await whoami(s)).out).toMatchObject({ signedIn: true, user: { email: 'erin@example.com' } });

        await s.control.revokeUser('erin');
        await s.control.expireSessions();
        approve = false;
        expect((await search(s)).isError).toBe(true);
        const expired = await whoami(s);
        expect(expired.out).toMatchObject({
          signedIn: false,
          status: 'login_expired',
          remedy: expect.stringContaining(s.loginCommand),
        });

        approve = true;
        const again = await search(s);
        expect(again.isError, text(again)).toBeFalsy();
        expect((await whoami(s)).out).toMatchObject({
          signedIn: true,
          status: 'signed_in',
          user: { email: 'erin@example.com' },
        });
      } finally {
        await s.close();
      }
    });
  });
});
