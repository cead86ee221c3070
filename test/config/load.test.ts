/**
 * @module Tests of configuration loading: file, environment and flags with their precedence, and
 * error messages that name the field, the value's source and what is expected.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, loadConfigDetailed } from '../../src/config/load.js';
import { commonFlagOptions } from '../../src/config/flags.js';
import { configDir, defaultConfigPath } from '../../src/config/paths.js';
import { QindexError } from '../../src/errors.js';
import { configSchemaText, SCHEMA_PATH } from '../../tools/gen-config-schema.js';

const APP = 'a1b2c3d4-5678-90ab-cdef-111111111111';
const RET = 'ret00000-0000-4000-8000-000000000001';
const IDC_ARN = 'arn:aws:sso::111111111111:application/ssoins-7223sandbox0001/apl-qindexmcp0001';
const ROLE = 'arn:aws:iam::111111111111:role/QIndexMcpIdcRole';

const goodFile = () => ({
  idp: { issuer: 'https://idp.example.com', clientId: 'from-file' },
  mode: { type: 'idc', idcRegion: 'us-west-2', idcApplicationArn: IDC_ARN, roleArn: ROLE },
  q: { region: 'us-east-1', applicationId: APP, retrieverId: RET },
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qindex-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return path;
}

async function failure(promise: Promise<unknown>): Promise<QindexError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(QindexError);
  expect((e as QindexError).code).toBe('config_invalid');
  return e as QindexError;
}

describe('loading', () => {
  it('reads a file and fills the defaults', async () => {
    const configPath = await fileWith('good.json', goodFile());
    const config = await loadConfig({ configPath, env: {} }, { require: 'all' });
    expect(config.idp.clientId).toBe('from-file');
    expect(config.idp.scopes).toContain('offline_access');
    expect(config.mode).toMatchObject({ type: 'idc', sessionDurationSeconds: 3600 });
    expect(config.credentials.refreshMarginSeconds).toBe(300);
    expect(config.tokenStore).toBe('auto');
    expect(config.profile).toBe('default');
  });

  it('applies flags over environment over file, and says where each value came from', async () => {
    const path = await fileWith('prec.json', { ...goodFile(), profile: 'work', logging: { level: 'warn' } });
    const { values } = parseArgs({
      args: ['--config', path, '--client-id', 'from-flag', '--log-level', 'debug'],
      options: commonFlagOptions,
      strict: true,
    });
    const env = {
      QINDEX_CLIENT_ID: 'from-env',
      QINDEX_ISSUER: 'https://env.example.com',
      QINDEX_PROFILE: 'p2',
    };
    const { config, sources, file } = await loadConfigDetailed({ flags: values, env }, { require: 'all' });
    expect(file).toBe(path);
    expect(config.idp.clientId).toBe('from-flag');
    expect(config.idp.issuer).toBe('https://env.example.com');
    expect(config.profile).toBe('p2');
    expect(config.logging.level).toBe('debug');
    expect(config.q.applicationId).toBe(APP);
    expect(sources.get('idp.clientId')).toEqual({ kind: 'flag', name: '--client-id' });
    expect(sources.get('idp.issuer')).toEqual({ kind: 'env', name: 'QINDEX_ISSUER' });
    expect(sources.get('q.applicationId')).toEqual({ kind: 'file', file: path });
  });

  it('coerces numbers and lists from variables', async () => {
    const configPath = await fileWith('coerce.json', goodFile());
    const config = await loadConfig(
      {
        configPath,
        env: {
          QINDEX_REDIRECT_PORT: '8765',
          QINDEX_SCOPES: 'openid email, offline_access',
          QINDEX_REFRESH_MARGIN_SECONDS: '60',
        },
      },
      { require: 'all' },
    );
    expect(config.idp.redirectPort).toBe(8765);
    expect(config.idp.scopes).toEqual(['openid', 'email', 'offline_access']);
    expect(config.credentials.refreshMarginSeconds).toBe(60);
  });

  it('reads the default file from the config directory, and a missing default file is fine', async () => {
    const cfgDir = join(dir, 'home-config');
    expect(configDir({ QINDEX_CONFIG_DIR: cfgDir })).toBe(cfgDir);
    expect(defaultConfigPath({ QINDEX_CONFIG_DIR: cfgDir })).toBe(join(cfgDir, 'config.json'));
    const onlyEnv = {
      QINDEX_CONFIG_DIR: cfgDir,
      QINDEX_ISSUER: 'https://idp.example.com',
      QINDEX_CLIENT_ID: 'env-only',
    };
    const idpOnly = await loadConfig({ env: onlyEnv }, { require: 'idp' });
    expect(idpOnly.idp.clientId).toBe('env-only');
    expect(idpOnly.mode).toBeUndefined();

    await import('node:fs/promises').then((fs) => fs.mkdir(cfgDir, { recursive: true }));
    await writeFile(join(cfgDir, 'config.json'), JSON.stringify(goodFile()));
    const full = await loadConfig({ env: { QINDEX_CONFIG_DIR: cfgDir } }, { require: 'all' });
    expect(full.idp.clientId).toBe('from-file');
    expect(full.mode.type).toBe('idc');
  });

  it('switching the mode from the environment drops the file fields of the old mode', async () => {
    const configPath = await fileWith('switch.json', goodFile());
    const config = await loadConfig(
      { configPath, env: { QINDEX_MODE: 'iam-federation' } },
      { require: 'all' },
    );
    expect(config.mode).toEqual({ type: 'iam-federation', roleArn: ROLE, sessionDurationSeconds: 3600 });
  });

  it("require 'idp' accepts a file without mode and q", async () => {
    const configPath = await fileWith('idp-only.json', { idp: goodFile().idp });
    const config = await loadConfig({ configPath, env: {} }, { require: 'idp' });
    expect(config.idp.issuer).toBe('https://idp.example.com');
    await failure(loadConfig({ configPath, env: {} }, { require: 'all' }));
  });
});

describe('errors name the field, the source and what is expected', () => {
  it('a missing --config file', async () => {
    const missing = join(dir, 'nope.json');
    const e = await failure(loadConfig({ flags: { config: missing }, env: {} }, { require: 'idp' }));
    expect(e.message).toContain(`Configuration file ${missing} does not exist`);
  });

  it('malformed JSON: the file and the position', async () => {
    const path = await fileWith('bad.json', '{\n  "idp": {\n    "issuer": "https://x",\n  }\n}\n');
    const e = await failure(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(e.message).toContain(`Configuration file ${path} is not valid JSON at line 4, column 3`);
  });

  it('missing fields', async () => {
    const path = await fileWith('missing.json', {
      idp: { issuer: 'https://idp.example.com' },
      mode: { type: 'idc' },
    });
    const e = await failure(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(e.message).toContain(
      `idp.clientId is missing: expected a string; set "idp.clientId" in ${path}, or set QINDEX_CLIENT_ID, or pass --client-id`,
    );
    expect(e.message).toContain('mode.idcApplicationArn is missing');
    expect(e.message).toContain('mode.roleArn is missing');
    expect(e.message).toContain('q.applicationId is missing');
    expect(e.remedy).toContain('docs/configuration.md');
  });

  it('wrong types and formats', async () => {
    const f = goodFile();
    const path = await fileWith('types.json', {
      ...f,
      idp: { ...f.idp, redirectPort: 'eighty' },
      q: { ...f.q, region: 'moon' },
      credentials: { refreshMarginSeconds: 99999 },
    });
    const e = await failure(
      loadConfig({ configPath: path, env: { QINDEX_ISSUER: 'not a url' } }, { require: 'all' }),
    );
    expect(e.message).toContain(`idp.redirectPort (in ${path}): expected a number, got "eighty"`);
    expect(e.message).toContain(
      `q.region (in ${path}): expected an AWS region such as us-east-1, got "moon"`,
    );
    expect(e.message).toContain(
      'idp.issuer (from environment variable QINDEX_ISSUER): expected a URL such as https://idp.example.com, got "not a url"',
    );
    expect(e.message).toContain(`credentials.refreshMarginSeconds (in ${path})`);
  });

  it('an unknown mode, from a flag', async () => {
    const configPath = await fileWith('mode.json', goodFile());
    const e = await failure(
      loadConfig({ configPath, flags: { mode: 'magic' }, env: {} }, { require: 'all' }),
    );
    expect(e.message).toContain(
      'mode.type (from flag --mode): expected one of "idc", "data-accessor", "iam-federation", got "magic"',
    );
  });

  it('unknown fields and a number that is not one', async () => {
    const f = goodFile();
    const path = await fileWith('unknown.json', { ...f, idp: { ...f.idp, issuerr: 'typo' } });
    const e = await failure(
      loadConfig({ configPath: path, env: { QINDEX_SESSION_DURATION_SECONDS: 'long' } }, { require: 'all' }),
    );
    expect(e.message).toContain(`idp.issuerr (in ${path}) is not a known field`);
    expect(e.message).toContain(
      'mode.sessionDurationSeconds (from environment variable QINDEX_SESSION_DURATION_SECONDS): expected a number, got "long"',
    );
  });

  it('never echoes a client secret', async () => {
    const canary = 'canary-client-secret-7f3a';
    const f = goodFile();
    const path = await fileWith('secret.json', { ...f, idp: { ...f.idp, clientSecret: [canary] } });
    const e = await failure(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(e.message).toContain('idp.clientSecret');
    expect(`${e.message} ${e.remedy}`).not.toContain(canary);
  });

  it('never echoes the shared cache key or a Redis URL, which may carry a password', async () => {
    const canary = 'canary-redis-password-9c1e';
    const f = goodFile();
    const path = await fileWith('redis.json', {
      ...f,
      http: { redisUrl: `valkey://:${canary}@cache.internal:6379`, cacheKey: [canary] },
    });
    const e = await failure(loadConfig({ configPath: path, env: {} }, { require: 'all' }));
    expect(e.message).toContain('http.redisUrl');
    expect(e.message).toContain('http.cacheKey');
    expect(`${e.message} ${e.remedy}`).not.toContain(canary);
  });

  it('a file that is not an object', async () => {
    const path = await fileWith('array.json', '[1, 2]');
    const e = await failure(loadConfig({ configPath: path, env: {} }, { require: 'idp' }));
    expect(e.message).toBe(`Configuration file ${path} must hold a JSON object.`);
  });
});

describe('published JSON Schema', () => {
  it('schema/config.schema.json is what `npm run gen:schema` generates', async () => {
    const committed = await readFile(SCHEMA_PATH, 'utf8');
    expect(committed, 'schema/config.schema.json is stale: run `npm run gen:schema`').toBe(
      await configSchemaText(),
    );
    const schema = JSON.parse(committed) as { required: string[]; properties: Record<string, unknown> };
    expect(schema.required).toEqual(expect.arrayContaining(['idp', 'mode', 'q']));
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['idp', 'mode', 'q', 'aws', 'tokenStore', 'logging']),
    );
  });
});
