/**
 * @module Upstream faults through the built CLI over stdio: throttling and 5xx recover (or end in an
 * actionable, retryable error), expired AWS sessions are renewed once, a revoked login and a missing
 * login say how to sign in, the subscription quirk is retried once, and cancelling a chat aborts the
 * upstream stream. The identity exchange happens once per session lifetime, not per call. Whatever
 * fails, stderr holds JSON log lines only (the AWS SDK's own notices go through the logger). Once per
 * protocol era: in-band sign-in is a URL elicitation request in 2025-11-25 and an input-required result
 * the client answers and retries in 2026-07-28.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNKNOWN_PROGRESS } from '../helpers/eras.js';
import { eventually } from '../helpers/eventually.js';
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

const SEARCH = 'qbusiness:SearchRelevantContent';
const EXCHANGE = 'sso-oauth:CreateTokenWithIAM';

const counter = async (s: ServerUnderTest, name: string) => (await s.control.counters())[name] ?? 0;
const search = (s: ServerUnderTest, query = 'VPN') =>
  s.client.callTool({ name: 'search_relevant_content', arguments: { query, maxResults: 3 } });

describe.each(ERAS)('%s era', (era: Era) => {
  let alice: ServerUnderTest;

  beforeAll(async () => {
    await ensureBuilt();
    alice = await startServer(sandbox(), { username: 'alice', era });
  }, 120_000);

  afterAll(async () => {
    await alice?.close();
  });

  describe('identity exchange reuse', () => {
    it('exchanges once for many tool calls', async () => {
      expect((await search(alice)).isError).toBeFalsy();
      const before = await counter(alice, EXCHANGE);
      for (let i = 0; i < 5; i++) expect((await search(alice, `office ${i}`)).isError).toBeFalsy();
      expect(await counter(alice, EXCHANGE)).toBe(before);
    });
  });

  describe('throttling and server errors', () => {
    it('retries a throttled call and succeeds', async () => {
      const before = await counter(alice, SEARCH);
      await alice.control.setFault(SEARCH, { throttle: 2 });
      const result = await search(alice);
      expect(result.isError, text(result)).toBeFalsy();
      expect(await counter(alice, SEARCH)).toBe(before + 3);
    });

    it('gives up on persistent throttling with a retryable, actionable error', async () => {
      await alice.control.setFault(SEARCH, { throttle: 10 });
      try {
        const result = await search(alice);
        expect(result.isError).toBe(true);
        expect(text(result)).toMatch(/throttling/);
        expect(text(result)).toMatch(/Retrying may help/);
        expect(text(result)).toMatch(/\(code: throttled\)/);
      } finally {
        await alice.control.clearFaults();
      }
    });

    it('retries a 5xx and succeeds', async () => {
      await alice.control.setFault('qbusiness:ChatSync', { serverError: 1 });
      const result = await alice.client.callTool({
        name: 'chat',
        arguments: { message: 'Where is the Dublin office?' },
      });
      expect(result.isError, text(result)).toBeFalsy();
      expect(structured<{ answer: string }>(result).answer.length).toBeGreaterThan(0);
    });

    it('reports a persistent 5xx as a server-side, retryable failure', async () => {
      await alice.control.setFault(SEARCH, { serverError: 10 });
      try {
        const result = await search(alice);
        expect(result.isError).toBe(true);
        expect(text(result)).toMatch(/server error/);
        expect(text(result)).toMatch(/AWS side/);
      } finally {
        await alice.control.clearFaults();
      }
    });
  });

  describe('expired and revoked sign-in', () => {
    it('renews expired AWS session credentials once and carries on', async () => {
      expect((await search(alice)).isError).toBeFalsy();
      const before = await counter(alice, EXCHANGE);
      await alice.control.expireSessions();
      const result = await search(alice);
      expect(result.isError, text(result)).toBeFalsy();
      expect(await counter(alice, EXCHANGE)).toBe(before + 1);
    });

    it('tells the user to sign in again when the login was revoked', async () => {
      const carol = await startServer(sandbox(), { username: 'carol', era });
      try {
        expect((await search(carol)).isError).toBeFalsy();
        await carol.control.revokeUser('carol');
        await carol.control.expireSessions();
        const result = await search(carol);
        expect(result.isError).toBe(true);
        // The command as this server was started (node, the script, --config), not a bare qindex-mcp.
        expect(text(result)).toContain(carol.loginCommand);
        expect(text(result)).not.toContain(carol.refreshToken);
      } finally {
        await carol.close();
      }
    });

    it('says how to sign in when nobody is signed in', async () => {
      const nobody = await startServer(sandbox(), { signedOut: true, era });
      try {
        const result = await search(nobody);
        expect(result.isError).toBe(true);
        expect(text(result)).toContain(nobody.loginCommand);
        const who = await nobody.client.callTool({ name: 'whoami', arguments: {} });
        expect(who.isError).toBeFalsy();
        expect(structured(who)).toMatchObject({
          signedIn: false,
          remedy: expect.stringContaining(nobody.loginCommand),
        });
      } finally {
        await nobody.close();
      }
    });
  });

  describe('in-band sign-in through URL elicitation', () => {
    it('offers the device login as a URL; once the user signs in, the call goes through', async () => {
      const s = await startServer(sandbox(), {
        signedOut: true,
        era,
        capabilities: { elicitation: { url: {} } },
      });
      const asked: string[] = [];
      s.client.setRequestHandler('elicitation/create', async (request) => {
        const params = request.params as { mode?: string; url?: string; message: string };
        expect(params.mode).toBe('url');
        asked.push(params.url!);
        // The "user" opens the page and approves the code as erin.
        const userCode = new URL(params.url!).searchParams.get('user_code')!;
        // The IdP's page asks to check the code against the one the client shows (RFC 8628 §3.3.1).
        expect(params.message).toContain(`confirm when it shows the code ${userCode}.`);
        await s.control.approveDevice({ userCode, username: 'erin' });
        return { action: 'accept' };
      });
      try {
        const result = await search(s, 'contractor expenses');
        expect(result.isError, text(result)).toBeFalsy();
        expect(asked).toHaveLength(1);
        expect(asked[0]).toContain(sandbox().description.issuer);
        const who = await s.client.callTool({ name: 'whoami', arguments: {} });
        expect(structured(who)).toMatchObject({ signedIn: true, user: { email: 'erin@example.com' } });
        expect((await search(s)).isError).toBeFalsy();
        expect(asked).toHaveLength(1);
      } finally {
        await s.close();
      }
    });

    it('falls back to the login instructions when the user declines', async () => {
      const s = await startServer(sandbox(), {
        signedOut: true,
        era,
        capabilities: { elicitation: { url: {} } },
      });
      s.client.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }));
      try {
        const result = await search(s);
        expect(result.isError).toBe(true);
        expect(text(result)).toContain(s.loginCommand);
      } finally {
        await s.close();
      }
    });
  });

  describe('IAM federation subscription quirk', () => {
    it("retries the first ChatSync of a new user once through 'does not have a subscription'", async () => {
      // The quirk fires once per user and sandbox: each era signs in a user it has not met yet.
      const username = era === 'legacy' ? 'dave' : 'bob';
      const s = await startServer(sandbox(), { mode: 'iam-federation', username, era });
      try {
        const before = await counter(s, 'qbusiness:ChatSync');
        const result = await s.client.callTool({
          name: 'chat',
          arguments: { message: 'What is the VPN address?' },
        });
        expect(result.isError, text(result)).toBeFalsy();
        expect(await counter(s, 'qbusiness:ChatSync')).toBe(before + 2);
      } finally {
        await s.close();
      }
    });
  });

  describe('cancellation', () => {
    it('aborts the upstream Chat stream when the client cancels mid-answer', async () => {
      const aborted = () => counter(alice, 'qbusiness:Chat:aborted');
      const before = await aborted();
      const cancelOnce = async () => {
        const controller = new AbortController();
        let progressSeen = 0;
        const call = alice.client.callTool(
          { name: 'chat', arguments: { message: 'Summarize the engineering on-call escalation policy.' } },
          {
            // Cancel as soon as the first part of the answer arrives: the upstream stream is mid-way.
            onprogress: () => {
              progressSeen++;
              controller.abort('user cancelled');
            },
            signal: controller.signal,
          },
        );
        await expect(call).rejects.toThrow();
        expect(progressSeen).toBeGreaterThan(0);
      };
      // The sandbox streams an answer in ~12 paced events; on a loaded machine the cancel can arrive
      // after the last one, so allow three tries. A server that never aborts upstream fails all three.
      let seen = false;
      for (let attempt = 0; attempt < 3 && !seen; attempt++) {
        await cancelOnce();
        seen = await eventually(async () => (await aborted()) > before, 20);
      }
      expect(seen).toBe(true);
      // The server is still fine afterwards.
      expect((await search(alice)).isError).toBeFalsy();
    });
  });

  describe('stderr under chat stream faults', () => {
    const streamChat = (s: ServerUnderTest) =>
      s.client.callTool(
        { name: 'chat', arguments: { message: 'What is the travel reimbursement limit?' } },
        { onprogress: () => undefined },
      );

    it('holds JSON log lines only when a Chat stream fails to start or breaks mid-answer', async () => {
      // The AWS SDK reports a failed streaming request itself; that must arrive through our logger.
      await alice.control.setFault('qbusiness:Chat', { serverError: 1 });
      const retried = await streamChat(alice);
      expect(retried.isError, text(retried)).toBeFalsy();
      await alice.control.setFault('qbusiness:Chat', { cutStream: 1 });
      const cut = await streamChat(alice);
      expect(cut.isError).toBe(true);
      await alice.control.clearFaults();
      const lines = alice.stderr().split('\n').filter(Boolean);
      const plain = lines.filter((l) => {
        try {
          return typeof JSON.parse(l) !== 'object';
        } catch {
          return true;
        }
      });
      expect(plain).toEqual([]);
      expect(alice.stderr()).toMatch(/"source":"aws-sdk".*non-retryable streaming request/);
    });
  });

  describe('hygiene under faults', () => {
    it('kept stdout JSON-RPC only and stderr free of secrets', () => {
      // A progress notification already on the wire when the client cancelled is the only acceptable
      // complaint (the client forgot the token); a non-JSON-RPC stdout line would show up here otherwise.
      const errors = alice.errors.map((e) => e.message).filter((m) => !UNKNOWN_PROGRESS.test(m));
      expect(errors).toEqual([]);
      const secret = sandbox().description.modes.idc.baseCredentials.secretAccessKey;
      expect(alice.stderr()).not.toContain(alice.refreshToken);
      expect(alice.stderr()).not.toContain(secret);
      expect(alice.stderr()).not.toMatch(/eyJ[\w-]+\.[\w-]+\./);
      expect(alice.logs.length).toBeGreaterThan(0);
    });
  });
});
