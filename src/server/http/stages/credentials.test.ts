/**
 * @module Unit tests of the credentials stage's mapping: a reused assertion (by code, through causes)
 * is 401 invalid_token, any other failed exchange the tool call's own error. The real exchanges against
 * the sandbox are in test/http/reauth.test.ts and reused-by-code.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, QindexError } from '../../../errors.js';
import type { CredentialProvider } from '../../../identity/index.js';
import { createLogger } from '../../../log.js';
import type { ToolContext } from '../../../tools/context.js';
import { errorAnswer } from '../http-error.js';
import type { Principal } from './auth.js';
import { needsCredentials, warmCredentials } from './credentials.js';

const logger = createLogger({ level: 'silent' });
const warm = warmCredentials({ logger, resource: 'https://mcp.example.com/mcp' });
const failing = (e: unknown): Principal => ({
  key: 'k',
  ctx: {} as ToolContext,
  credentials: (() => Promise.reject(e)) as CredentialProvider,
});
const toolCall = { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'whoami' } };

describe('credentials stage', () => {
  it('is needed for tool calls of a bearer user only', () => {
    const bearer = failing(new Error('unused'));
    expect(needsCredentials(bearer, toolCall)).toBe(true);
    expect(needsCredentials(bearer, { ...toolCall, method: 'tools/list' })).toBe(false);
    expect(needsCredentials({ key: 'local', ctx: {} as ToolContext }, toolCall)).toBe(false);
  });

  it('turns a reused assertion, however deep its cause, into 401 invalid_token', async () => {
    const reused = new QindexError(ErrorCode.AssertionReused, 'already used');
    for (const e of [reused, new QindexError('exchange_failed', 'wrapped', { cause: reused })]) {
      await expect(warm(failing(e))).rejects.toMatchObject({
        status: 401,
        headers: { 'www-authenticate': expect.stringMatching(/^Bearer error="invalid_token"/) },
      });
    }
  });

  it("makes any other failure the tool call's error result, told to a remote user by reference", async () => {
    const denied = new QindexError(ErrorCode.ExchangeFailed, 'IdC refused the exchange.', {
      remedy: 'Ask the admin.',
    });
    const e = await warm(failing(denied)).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).toMatchObject({ status: 403, asToolResult: true });
    const answer = errorAnswer(e as never, toolCall) as {
      status: number;
      body: { id: number; result: { isError: boolean; content: Array<{ text: string }> } };
    };
    expect(answer).toMatchObject({ status: 200, body: { id: 3, result: { isError: true } } });
    // The operator's fix (and AWS's words) stay in the log; the user gets the summary and a reference.
    const text = answer.body.result.content[0]!.text;
    expect(text).toContain('The identity exchange with AWS failed.');
    expect(text).toMatch(/\(code: exchange_failed, reference: \w+\)/);
    expect(text).not.toMatch(/IdC refused|Ask the admin/);
  });

  it('passes on once the credentials are there', async () => {
    const ok: Principal = {
      key: 'k',
      ctx: {} as ToolContext,
      credentials: (() => Promise.resolve({ accessKeyId: 'a', secretAccessKey: 'b' })) as CredentialProvider,
    };
    await expect(warm(ok)).resolves.toBeUndefined();
  });
});
