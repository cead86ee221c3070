/**
 * @module HTTP fuzz cases for the Streamable HTTP endpoint in bearer mode: JSON-RPC bodies (the same
 * generators as over stdio) under header variants (Accept, Content-Type, Authorization spellings and bad
 * tokens, session ids of nobody or of another user, protocol versions, Origin and Host), other methods
 * (GET streams, DELETE, OPTIONS …), and requests no well-behaved client sends: garbage request lines,
 * forbidden bytes in headers, conflicting lengths, broken chunking, huge headers and URLs, bodies larger
 * than declared or cut off, and connections that never send a byte.
 */
import fc from 'fast-check';
import type { CaseArbitraries, Payload } from './jsonrpc-cases.js';

export type AuthVariant =
  | 'good'
  | 'none'
  | 'scheme-only'
  | 'scheme-space'
  | 'two-spaces'
  | 'lowercase'
  | 'uppercase'
  | 'trailing-space'
  | 'leading-space'
  | 'tab'
  | 'suffix'
  | 'doubled'
  | 'basic'
  | 'other-scheme'
  | 'other-user'
  | 'huge'
  | 'comma-list'
  | `bad:${string}`;

export type SessionVariant = 'own' | 'none' | 'bogus' | 'other-user' | 'empty' | 'long' | 'spaces';

export type HeaderFuzz =
  | { h: 'accept'; v: string | null }
  | { h: 'content-type'; v: string | null }
  | { h: 'auth'; v: AuthVariant }
  | { h: 'session'; v: SessionVariant }
  | { h: 'protocol'; v: string }
  | { h: 'origin'; v: string }
  | { h: 'host'; v: string | null }
  | { h: 'extra'; name: string; v: string };

export type RawShape =
  | 'garbage-line'
  | 'bad-method'
  | 'bad-version'
  | 'http10'
  | 'h2-preface'
  | 'nul-in-header'
  | 'bare-cr'
  | 'bare-lf'
  | 'obs-fold'
  | 'no-colon'
  | 'space-before-colon'
  | 'non-ascii-header'
  | 'dup-content-length'
  | 'cl-and-te'
  | 'bad-chunk-size'
  | 'chunked-ok'
  | 'chunked-unfinished'
  | 'huge-chunk-size'
  | 'huge-header'
  | 'many-headers'
  | 'long-url'
  | 'odd-target'
  | 'no-host'
  | 'two-hosts'
  | 'expect-continue'
  | 'body-longer'
  | 'cl-zero'
  | 'cl-over-limit'
  | 'cl-absurd'
  | 'truncated-fin'
  | 'truncated-destroy'
  | 'headers-fin'
  | 'headers-destroy'
  | 'pipelined'
  | 'hangup'
  | 'idle';

export const RAW_SHAPES: RawShape[] = [
  'garbage-line',
  'bad-method',
  'bad-version',
  'http10',
  'h2-preface',
  'nul-in-header',
  'bare-cr',
  'bare-lf',
  'obs-fold',
  'no-colon',
  'space-before-colon',
  'non-ascii-header',
  'dup-content-length',
  'cl-and-te',
  'bad-chunk-size',
  'chunked-ok',
  'chunked-unfinished',
  'huge-chunk-size',
  'huge-header',
  'many-headers',
  'long-url',
  'odd-target',
  'no-host',
  'two-hosts',
  'expect-continue',
  'body-longer',
  'cl-zero',
  'cl-over-limit',
  'cl-absurd',
  'truncated-fin',
  'truncated-destroy',
  'headers-fin',
  'headers-destroy',
  'pipelined',
  'hangup',
  'idle',
];

export const ODD_TARGETS = [
  '*',
  'http://evil.example/mcp',
  '//mcp',
  '/mcp?x=%zz',
  '/mcp%00',
  '/%2e%2e/mcp',
  '/mcp/../mcp',
  '/MCP',
  '/',
  '/healthz',
  '/.well-known/oauth-protected-resource',
  '/.well-known/oauth-protected-resource/mcp',
  '/mcp#frag',
  '/mcp;x',
  'mcp',
];

export type HttpCase =
  | { k: 'rpc'; payload: Payload; user: number; headers: HeaderFuzz[] }
  | { k: 'raw'; shape: RawShape; user: number; pick: number; cut: number }
  | { k: 'method'; method: string; user: number; session: SessionVariant; target: string }
  | { k: 'burst'; n: number; payload: Payload; user: number };

/** Shapes whose client ends the connection (FIN or reset) while the server may still be at the request. */
export const HANGUP_SHAPES: RawShape[] = [
  'hangup',
  'truncated-destroy',
  'truncated-fin',
  'headers-fin',
  'chunked-unfinished',
  'cl-absurd',
  'cl-and-te',
  'bad-chunk-size',
  'huge-chunk-size',
  'body-longer',
];

export function httpCaseArbitrary(
  rpc: CaseArbitraries,
  users: number,
  badTokenNames: string[],
  skipShapes: RawShape[] = [],
): fc.Arbitrary<HttpCase> {
  const user = fc.nat({ max: users - 1 });
  const auth = fc.constantFrom<AuthVariant>(
    'none',
    'scheme-only',
    'scheme-space',
    'two-spaces',
    'lowercase',
    'uppercase',
    'trailing-space',
    'leading-space',
    'tab',
    'suffix',
    'doubled',
    'basic',
    'other-scheme',
    'other-user',
    'huge',
    'comma-list',
    ...badTokenNames.map((n) => `bad:${n}` as AuthVariant),
  );
  const header: fc.Arbitrary<HeaderFuzz> = fc.oneof(
    fc
      .constantFrom<string | null>(
        null,
        'application/json',
        'text/event-stream',
        '*/*',
        'application/json, text/event-stream;q=0',
        'text/event-stream, application/json',
        'garbage',
        '',
      )
      .map((v) => ({ h: 'accept' as const, v })),
    fc
      .constantFrom<string | null>(
        null,
        'text/plain',
        'application/json; charset=utf-8',
        'APPLICATION/JSON',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        'application/json-seq',
        '',
      )
      .map((v) => ({ h: 'content-type' as const, v })),
    { weight: 3, arbitrary: auth.map((v) => ({ h: 'auth' as const, v })) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<SessionVariant>('none', 'bogus', 'other-user', 'empty', 'long', 'spaces')
        .map((v) => ({ h: 'session' as const, v })),
    },
    fc
      .constantFrom(
        '2026-07-28',
        '2025-06-18',
        '2024-11-05',
        '1999-01-01',
        'garbage',
        '',
        '2025-06-18, 2024-11-05',
      )
      .map((v) => ({ h: 'protocol' as const, v })),
    fc
      .constantFrom('https://evil.example', 'null', 'http://127.0.0.1', 'http://localhost:1', 'file://')
      .map((v) => ({ h: 'origin' as const, v })),
    fc
      .constantFrom<string | null>(null, 'evil.example', '127.0.0.1', 'localhost:1', '[::1]', '')
      .map((v) => ({ h: 'host' as const, v })),
    fc
      .tuple(
        fc.constantFrom(
          'last-event-id',
          'x-forwarded-for',
          'cookie',
          'x-amz-security-token',
          'transfer-encoding',
        ),
        fc.constantFrom('1', 'a'.repeat(4000), 'x, y', 'identity', 'gzip'),
      )
      .map(([name, v]) => ({ h: 'extra' as const, name, v })),
  );
  // Mostly clean requests, so the bodies reach the MCP layer; a fifth with one or two header changes.
  const headers = fc.oneof(
    { weight: 8, arbitrary: fc.constant<HeaderFuzz[]>([]) },
    { weight: 2, arbitrary: fc.array(header, { minLength: 1, maxLength: 2 }) },
  );
  const payload = rpc.payload.filter((p) => p.k !== 'burst' && !(p.k === 'huge' && p.mib > 2));
  return fc.oneof(
    { weight: 60, arbitrary: fc.record({ k: fc.constant('rpc' as const), payload, user, headers }) },
    {
      weight: 25,
      arbitrary: fc.record({
        k: fc.constant('raw' as const),
        shape: fc.constantFrom(...RAW_SHAPES.filter((x) => !skipShapes.includes(x))),
        user,
        pick: fc.nat({ max: 1000 }),
        cut: fc.double({ min: 0, max: 1, noNaN: true }),
      }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        k: fc.constant('method' as const),
        method: fc.constantFrom('GET', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE'),
        user,
        session: fc.constantFrom<SessionVariant>('own', 'none', 'bogus', 'other-user'),
        target: fc.oneof({ weight: 5, arbitrary: fc.constant('/mcp') }, fc.constantFrom(...ODD_TARGETS)),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        k: fc.constant('burst' as const),
        n: fc.integer({ min: 2, max: 40 }),
        payload: rpc.toolCall.map((msg) => ({ k: 'msg' as const, msg })),
        user,
      }),
    },
  );
}
