/** @module Unit tests of the one place a failed request becomes a response. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ErrorCode, QindexError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { HttpError, RPC, errorAnswer, isUnexpected, rpcError, toHttpError } from './http-error.js';

const toolCall = { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'whoami' } };

describe('errorAnswer', () => {
  it('answers with the status, the headers and a JSON-RPC error body (id null)', () => {
    const e = new HttpError(429, 'Too many.', { headers: { 'retry-after': '1' } });
    expect(errorAnswer(e)).toEqual({
      status: 429,
      headers: { 'retry-after': '1' },
      body: { jsonrpc: '2.0', error: { code: RPC.serverError, message: 'Too many.' }, id: null },
    });
    expect(errorAnswer(new HttpError(400, 'Parse error.', { rpcCode: RPC.parseError })).body).toEqual(
      rpcError(-32700, 'Parse error.'),
    );
  });

  it('gives a failure of the tool call to that call as its isError result, when it was one tools/call', () => {
    const e = new HttpError(403, 'Exchange refused. Ask your admin.', { asToolResult: true });
    expect(errorAnswer(e, toolCall)).toEqual({
      status: 200,
      body: {
        jsonrpc: '2.0',
        id: 7,
        result: { content: [{ type: 'text', text: 'Exchange refused. Ask your admin.' }], isError: true },
      },
    });
    // A batch, another method, or no body read yet: the HTTP status.
    expect(errorAnswer(e, [toolCall]).status).toBe(403);
    expect(errorAnswer(e, { ...toolCall, method: 'tools/list' }).status).toBe(403);
    expect(errorAnswer(e).status).toBe(403);
    // Without asToolResult a tools/call still gets the HTTP error.
    expect(errorAnswer(new HttpError(429, 'Too many.'), toolCall).status).toBe(429);
  });
});

describe('toHttpError', () => {
  it('keeps HttpErrors, makes an unreachable IdP 503 told by reference, anything else 500 without detail', () => {
    const sink = new PassThrough();
    const log: string[] = [];
    sink.on('data', (d: Buffer) => log.push(d.toString()));
    const logger = createLogger({ level: 'info', destination: sink });
    const http = new HttpError(404, 'Not found');
    expect(toHttpError(http, logger)).toBe(http);
    const idp = new QindexError(ErrorCode.IdpUnavailable, 'IdP down at https://idp.internal.', {
      remedy: 'Check idp.issuer.',
      retryable: true,
    });
    const unavailable = toHttpError(idp, logger);
    expect(unavailable.status).toBe(503);
    // The client reads the summary and a reference; the log has the operator's detail under it.
    const ref = /reference: (\w+)/.exec(unavailable.message)?.[1];
    expect(unavailable.message).not.toMatch(/idp\.internal|idp\.issuer/);
    expect(log.join('')).toContain(`"ref":"${ref}"`);
    expect(log.join('')).toContain('Check idp.issuer.');
    const internal = toHttpError(new Error('secret detail at /srv/x'), logger);
    expect(internal).toMatchObject({
      status: 500,
      rpcCode: RPC.internalError,
      message: 'Internal server error',
    });
    expect(errorAnswer(internal).body).toEqual(rpcError(-32603, 'Internal server error'));
  });

  it('names unplanned failures (logged) apart from planned ones', () => {
    expect(isUnexpected(new Error('x'))).toBe(true);
    expect(isUnexpected(new QindexError(ErrorCode.ConfigInvalid, 'x'))).toBe(true);
    expect(isUnexpected(new QindexError(ErrorCode.IdpUnavailable, 'x'))).toBe(false);
    expect(isUnexpected(new HttpError(413, 'x'))).toBe(false);
  });
});
