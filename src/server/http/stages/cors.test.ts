/** @module Unit tests of the CORS stage: preflights answered, headers on every later answer. */
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cors, corsHeaders } from './cors.js';

function exchange(method: string, headers: Record<string, string>) {
  const req = new IncomingMessage(new Socket());
  req.method = method;
  req.headers = headers;
  return { req, res: new ServerResponse(req) };
}

describe('CORS stage', () => {
  it('answers a preflight with 204, the methods and headers MCP clients send (2026-07-28 ones too)', () => {
    const { req, res } = exchange('OPTIONS', { origin: 'https://inspector.example' });
    const answer = cors()(req, res);
    expect(answer?.status).toBe(204);
    expect(answer?.body).toBeUndefined();
    expect(answer?.headers).toMatchObject({
      'access-control-allow-origin': 'https://inspector.example',
      'access-control-allow-methods': 'GET, POST, DELETE',
      'access-control-allow-headers': expect.stringMatching(
        /authorization.*mcp-session-id.*mcp-protocol-version.*mcp-method.*mcp-name/,
      ),
      'access-control-max-age': '600',
    });
  });

  it('puts the allow-origin and exposed headers on the response and passes on', () => {
    const { req, res } = exchange('POST', { origin: 'https://inspector.example' });
    expect(cors()(req, res)).toBeUndefined();
    expect(res.getHeader('access-control-allow-origin')).toBe('https://inspector.example');
    expect(res.getHeader('access-control-expose-headers')).toMatch(/mcp-session-id.*www-authenticate/);
    expect(res.getHeader('vary')).toBe('Origin');
  });

  it('adds nothing for a request without an Origin', () => {
    const { req, res } = exchange('POST', {});
    expect(cors()(req, res)).toBeUndefined();
    expect(res.getHeaderNames()).toEqual([]);
    expect(corsHeaders({ headers: {} })).toEqual({});
  });
});
