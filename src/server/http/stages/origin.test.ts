/** @module Unit tests of the origin stage: Host and Origin allow-lists against DNS rebinding and CSRF. */
import { describe, expect, it } from 'vitest';
import { HttpError } from '../http-error.js';
import { createOriginPolicy, isLoopbackAuthority, originGuard, originRefusal } from './origin.js';

const local = createOriginPolicy({
  bindHost: '127.0.0.1',
  port: 8765,
  allowedHosts: [],
  allowedOrigins: ['https://Inspector.example/'],
});
const req = (headers: Record<string, string>) => ({ headers });

describe('origin stage', () => {
  it('on loopback, takes loopback names of its own port only', () => {
    for (const host of [
      '127.0.0.1:8765',
      'localhost:8765',
      'LOCALHOST:8765',
      '[::1]:8765',
      '127.0.0.2:8765',
    ]) {
      expect(originRefusal(req({ host }), local), host).toBeUndefined();
    }
    for (const host of [
      'attacker.example:8765',
      '127.0.0.1:8766',
      '127.0.0.1',
      'localhost:8765@evil.example',
      'localhost:8765/x',
      '127.0.0.1.nip.io:8765',
      '',
    ]) {
      expect(originRefusal(req({ host }), local), host).toBe('Host header not allowed');
    }
    expect(originRefusal({ headers: {} }, local)).toBe('Host header not allowed');
  });

  it('takes configured origins and http loopback origins of its port, nothing else', () => {
    const host = '127.0.0.1:8765';
    for (const origin of ['https://inspector.example', 'http://localhost:8765', 'http://[::1]:8765']) {
      expect(originRefusal(req({ host, origin }), local), origin).toBeUndefined();
    }
    for (const origin of [
      'https://evil.example',
      'null',
      'http://localhost:1',
      'https://localhost:8765',
      'file://',
      'http://inspector.example',
    ]) {
      expect(originRefusal(req({ host, origin }), local), origin).toBe('Origin not allowed');
    }
    // No Origin (a non-browser client) passes.
    expect(originRefusal(req({ host }), local)).toBeUndefined();
  });

  it('behind a load balancer, checks Host only when hosts are configured (plus loopback names)', () => {
    const open = createOriginPolicy({ bindHost: '0.0.0.0', port: 80, allowedHosts: [], allowedOrigins: [] });
    expect(originRefusal(req({ host: 'mcp.example.com' }), open)).toBeUndefined();
    const listed = createOriginPolicy({
      bindHost: '0.0.0.0',
      port: 8080,
      allowedHosts: ['MCP.example.com'],
      allowedOrigins: [],
    });
    expect(originRefusal(req({ host: 'mcp.example.com' }), listed)).toBeUndefined();
    expect(originRefusal(req({ host: 'localhost:8080' }), listed)).toBeUndefined();
    expect(originRefusal(req({ host: 'other.example.com' }), listed)).toBe('Host header not allowed');
  });

  it('reads authorities strictly: no userinfo, paths or port tricks', () => {
    expect(isLoopbackAuthority('localhost', 80)).toBe(true);
    expect(isLoopbackAuthority('[::ffff:127.0.0.1]:9000', 9000)).toBe(true);
    expect(isLoopbackAuthority('evil@localhost:9000', 9000)).toBe(false);
    expect(isLoopbackAuthority('localhost:09000x', 9000)).toBe(false);
    expect(isLoopbackAuthority('[::1]9000', 9000)).toBe(false);
  });

  it('as a stage, passes on or throws 403 naming the header', () => {
    const guard = originGuard(local);
    expect(() => guard(req({ host: '127.0.0.1:8765' }))).not.toThrow();
    let thrown: unknown;
    try {
      guard(req({ host: '127.0.0.1:8765', origin: 'https://evil.example' }));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 403, message: 'Forbidden: Origin not allowed.' });
  });
});
