/** @module Unit tests of the routing stage: health, metadata, 404, and the endpoint passing on. */
import { describe, expect, it } from 'vitest';
import { RPC } from '../http-error.js';
import { metadataPaths, protectedResourceMetadata } from '../metadata.js';
import { routes } from './routes.js';

const resource = 'https://mcp.example.com/mcp';
const document = protectedResourceMetadata(resource, 'https://idp.example.com');

describe('routing stage', () => {
  it('answers /healthz by the drain state, and passes the MCP path on (any query)', () => {
    let draining = false;
    const route = routes({ mcpPath: '/mcp', draining: () => draining });
    expect(route({ url: '/healthz', method: 'GET' })).toEqual({ status: 200, body: { status: 'ok' } });
    draining = true;
    expect(route({ url: '/healthz', method: 'GET' })).toEqual({ status: 503, body: { status: 'draining' } });
    expect(route({ url: '/mcp?x=1', method: 'POST' })).toBeUndefined();
  });

  it('serves the metadata in bearer mode on both paths, to any origin; 404 elsewhere', () => {
    const route = routes({
      mcpPath: '/mcp',
      draining: () => false,
      metadata: { paths: metadataPaths(resource), document },
    });
    for (const url of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      expect(route({ url, method: 'GET' })).toEqual({
        status: 200,
        headers: { 'access-control-allow-origin': '*' },
        body: document,
      });
    }
    expect(() => route({ url: '/.well-known/oauth-protected-resource', method: 'POST' })).toThrow(
      expect.objectContaining({ status: 404 }),
    );
  });

  it('throws 404 (method not found) for unknown paths, and for the metadata in local mode', () => {
    const route = routes({ mcpPath: '/mcp', draining: () => false });
    for (const url of ['/other', '/.well-known/oauth-protected-resource', '/mcp/x', '/healthz?']) {
      const method = url.startsWith('/healthz') ? 'POST' : 'GET';
      expect(() => route({ url, method }), url).toThrow(
        expect.objectContaining({ status: 404, rpcCode: RPC.methodNotFound }),
      );
    }
  });
});
