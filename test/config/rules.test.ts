/**
 * @module The rules across fields, checked when the configuration is loaded (not when `serve` starts):
 * each error names the field to change, where its value came from and the field it conflicts with;
 * and the settings that used to be read outside src/config (HTTP flags, QINDEX_REDIS_URL,
 * QINDEX_CACHE_KEY, QINDEX_LOG_LEVEL, QINDEX_REFRESH_TOKEN) come from the one settings table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commonFlagOptions, headlessRefreshToken, httpFlagOptions } from '../../src/config/flags.js';
import { loadConfig, loadConfigDetailed, withFlags } from '../../src/config/load.js';
import { ConfigSchema, type QindexConfigInput } from '../../src/config/schema.js';
import { QindexError } from '../../src/errors.js';

const APP = 'a1b2c3d4-5678-90ab-cdef-111111111111';
const RET = 'ret00000-0000-4000-8000-000000000001';
const IDC_ARN = 'arn:aws:sso::111111111111:application/ssoins-7223sandbox0001/apl-qindexmcp0001';
const ROLE = 'arn:aws:iam::111111111111:role/QIndexMcpIdcRole';
const RESOURCE = 'https://mcp.example.com/mcp';

const base = (): QindexConfigInput => ({
  idp: { issuer: 'https://idp.example.com', clientId: 'qindex' },
  mode: { type: 'idc', idcRegion: 'us-west-2', idcApplicationArn: IDC_ARN, roleArn: ROLE },
  q: { region: 'us-east-1', applicationId: APP, retrieverId: RET },
});
const dataAccessor = (): QindexConfigInput['mode'] => ({
  type: 'data-accessor',
  idcRegion: 'us-west-2',
  idcApplicationArn: IDC_ARN,
  roleArn: ROLE,
  tenantId: 'tenant-1',
});
const tenant = { tenantId: 'acme', idcApplicationArn: IDC_ARN, applicationId: APP, retrieverId: RET };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qindex-rules-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
async function fileWith(content: unknown): Promise<string> {
  const path = join(dir, `c${++n}.json`);
  await writeFile(path, JSON.stringify(content));
  return path;
}

const flagsOf = (args: string[]) =>
  parseArgs({ args, options: { ...commonFlagOptions, ...httpFlagOptions }, strict: true }).values;

async function configError(promise: Promise<unknown>): Promise<string> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  expect((e as QindexError).code).toBe('config_invalid');
  return (e as QindexError).message;
}

describe('rules across fields', () => {
  it('bearer needs a resource: names http.resource, its flag, and the field that asks for it', async () => {
    const path = await fileWith({ ...base(), http: { auth: 'bearer' } });
    const message = await configError(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(message).toContain(
      `http.resource is missing: http.auth "bearer" needs it: this server's public URL (e.g. https://mcp.example.com/mcp), the audience bearer tokens must carry; set "http.resource" in ${path}, or pass --resource`,
    );
    // The same file with the resource from a flag passes.
    const config = await loadConfig(
      { configPath: path, env: {}, flags: flagsOf(['--resource', RESOURCE]) },
      { require: 'all' },
    );
    expect(config.http).toMatchObject({ auth: 'bearer', resource: RESOURCE });
  });

  it('local mode binds loopback only: names http.host and the flag it came from', async () => {
    const path = await fileWith(base());
    for (const host of ['0.0.0.0', '::', '10.0.0.7', '127.example.com']) {
      const message = await configError(
        loadConfig({ configPath: path, env: {}, flags: flagsOf(['--host', host]) }, { require: 'all' }),
      );
      expect(message).toContain(
        `http.host (from flag --host) is "${host}": local HTTP mode (http.auth "none") serves the signed-in user without authentication, so it binds loopback only`,
      );
    }
    for (const host of ['127.0.0.1', '::1', 'localhost']) {
      const config = await loadConfig(
        { configPath: path, env: {}, flags: flagsOf(['--host', host]) },
        { require: 'all' },
      );
      expect(config.http?.host).toBe(host);
    }
    // Bearer mode authenticates every request: it may bind any address.
    const bearer = await loadConfig(
      {
        configPath: path,
        env: {},
        flags: flagsOf(['--host', '0.0.0.0', '--auth', 'bearer', '--resource', RESOURCE]),
      },
      { require: 'all' },
    );
    expect(bearer.http).toMatchObject({ host: '0.0.0.0', auth: 'bearer' });
  });

  it('oauth mode: a resource off loopback, an origin issuer, a token for policy "token"; tenants allowed', async () => {
    const path = await fileWith({
      ...base(),
      http: {
        auth: 'oauth',
        host: '0.0.0.0',
        oauth: { issuer: 'https://mcp.example.com/as', registration: { policy: 'token' } },
      },
    });
    const message = await configError(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(message).toContain('http.resource is missing: http.auth "oauth" off loopback needs it');
    expect(message).toContain('http.oauth.issuer');
    expect(message).toContain('without a path');
    expect(message).toContain('http.oauth.registration.initialAccessToken is missing');
    // On loopback with the token from its variable, and tenants, it loads.
    const good = await fileWith({
      ...base(),
      mode: dataAccessor(),
      http: { auth: 'oauth', oauth: { registration: { policy: 'token' } }, tenants: { acme: tenant } },
    });
    const config = await loadConfig(
      { configPath: good, env: { QINDEX_OAUTH_REGISTRATION_TOKEN: 'initial-access-token-0123456789' } },
      { require: 'all' },
    );
    expect(config.http?.oauth.registration.initialAccessToken).toBe('initial-access-token-0123456789');
  });

  it('tenants need data-accessor mode and bearer auth', async () => {
    const path = await fileWith({ ...base(), http: { tenants: { acme: tenant } } });
    const message = await configError(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(message).toContain(
      `mode.type (in ${path}) is "idc": http.tenants needs mode.type "data-accessor" (each tenant is a data accessor of its customer's Q Business application); change it, or remove http.tenants`,
    );
    expect(message).toContain('http.auth is missing: http.tenants needs http.auth "bearer"');
    const good = await fileWith({
      ...base(),
      mode: dataAccessor(),
      http: { auth: 'bearer', resource: RESOURCE, tenants: { acme: tenant } },
    });
    const config = await loadConfig({ configPath: good, env: {} }, { require: 'all' });
    expect(Object.keys(config.http?.tenants ?? {})).toEqual(['acme']);
  });

  it('a shared cache needs its key, which is never echoed', async () => {
    const path = await fileWith({ ...base(), http: { auth: 'bearer', resource: RESOURCE } });
    const redis = 'redis://:canary-password-31f@cache.internal:6379';
    const missing = await configError(
      loadConfig({ configPath: path, env: { QINDEX_REDIS_URL: redis } }, { require: 'all' }),
    );
    expect(missing).toContain('http.cacheKey is missing: http.redisUrl needs it');
    expect(missing).toContain('or set QINDEX_CACHE_KEY');
    expect(missing).not.toContain('canary-password');
    const short = 'c2hvcnQta2V5LWNhbmFyeQ==';
    const wrong = await configError(
      loadConfig(
        { configPath: path, env: { QINDEX_REDIS_URL: redis, QINDEX_CACHE_KEY: short } },
        { require: 'all' },
      ),
    );
    expect(wrong).toContain(
      'http.cacheKey (from environment variable QINDEX_CACHE_KEY): expected base64 of 32 random bytes',
    );
    expect(wrong).not.toContain(short);
  });

  it('the rules are part of the schema itself, so every parse applies them', () => {
    const parsed = ConfigSchema.safeParse({ ...base(), http: { auth: 'bearer' } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues).toEqual([
      expect.objectContaining({ code: 'custom', path: ['http', 'resource'] }),
    ]);
  });

  it('login loads only the sign-in part, yet an impossible http section is reported there too', async () => {
    const path = await fileWith({ idp: base().idp, http: { host: '0.0.0.0' } });
    const message = await configError(loadConfig({ configPath: path, env: {} }, { require: 'idp' }));
    expect(message).toContain(`http.host (in ${path}) is "0.0.0.0"`);
  });
});

describe('settings once read outside src/config', () => {
  it('HTTP flags and QINDEX_REDIS_URL/QINDEX_CACHE_KEY load into the http section, each with its source', async () => {
    const path = await fileWith({
      ...base(),
      http: { port: 9000, allowedOrigins: ['https://file.example'] },
    });
    const key = randomBytes(32).toString('base64');
    const flags = flagsOf([
      '--auth',
      'bearer',
      '--resource',
      RESOURCE,
      '--port',
      '0',
      '--stateless',
      '--allowed-origin',
      'https://a.example',
      '--allowed-origin',
      'https://b.example',
    ]);
    const env = { QINDEX_REDIS_URL: 'rediss://cache.internal:6380', QINDEX_CACHE_KEY: key };
    const { config, sources } = await loadConfigDetailed(
      { configPath: path, env, flags },
      { require: 'all' },
    );
    expect(config.http).toMatchObject({
      auth: 'bearer',
      resource: RESOURCE,
      port: 0,
      stateless: true,
      allowedOrigins: ['https://a.example', 'https://b.example'],
      redisUrl: 'rediss://cache.internal:6380',
      cacheKey: key,
    });
    expect(sources.get('http.port')).toEqual({ kind: 'flag', name: '--port' });
    expect(sources.get('http.cacheKey')).toEqual({ kind: 'env', name: 'QINDEX_CACHE_KEY' });
  });

  it('withFlags layers flags over a loaded configuration and applies the rules again', async () => {
    const path = await fileWith(base());
    const config = await loadConfig({ configPath: path, env: {} }, { require: 'all' });
    expect(withFlags(config, { port: '0', 'allowed-host': ['mcp.local'] }).http).toMatchObject({
      port: 0,
      allowedHosts: ['mcp.local'],
    });
    expect(() => withFlags(config, { port: 'eighty' })).toThrow(
      'http.port (from flag --port): expected a number, got "eighty"',
    );
    expect(() => withFlags(config, { host: '0.0.0.0' })).toThrow(
      /http\.host \(from flag --host\) is "0\.0\.0\.0": .*loopback only/,
    );
  });

  it('QINDEX_LOG_LEVEL is logging.level; QINDEX_REFRESH_TOKEN is read here, trimmed, blank = none', async () => {
    const path = await fileWith(base());
    const config = await loadConfig(
      { configPath: path, env: { QINDEX_LOG_LEVEL: 'debug' } },
      { require: 'all' },
    );
    expect(config.logging.level).toBe('debug');
    expect(headlessRefreshToken({ QINDEX_REFRESH_TOKEN: ' rt-1 \n' })).toBe('rt-1');
    expect(headlessRefreshToken({ QINDEX_REFRESH_TOKEN: '  ' })).toBeUndefined();
    expect(headlessRefreshToken({})).toBeUndefined();
  });

  it('commands other than serve and doctor do not take the HTTP flags', () => {
    expect(Object.keys(httpFlagOptions).sort()).toEqual(
      [
        'allowed-host',
        'allowed-origin',
        'auth',
        'host',
        'metrics-port',
        'port',
        'redis-url',
        'resource',
        'stateless',
      ].sort(),
    );
    for (const flag of Object.keys(httpFlagOptions)) expect(commonFlagOptions).not.toHaveProperty(flag);
    expect(httpFlagOptions.stateless).toEqual({ type: 'boolean' });
    expect(httpFlagOptions['allowed-origin']).toEqual({ type: 'string', multiple: true });
  });
});
