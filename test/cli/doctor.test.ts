/**
 * @module `qindex-mcp doctor` as a user runs it: the built CLI, spawned against the sandbox with a
 * config file, a headless refresh token and the app's AWS keys in the environment. It passes on a good
 * configuration and names the broken step (with its remedy) on each broken one.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import { configInputFor, type ConfigOverrides, type SandboxMode } from '../helpers/config.js';
import { useSandbox } from '../helpers/sandbox.js';

const run = promisify(execFile);
const sandbox = useSandbox();
const root = join(import.meta.dirname, '..', '..');
// `npm test` builds dist/ first; when it is stale (development), build privately so that concurrent
// builds of dist/ cannot race this test.
const distCli = join(root, 'dist', 'src', 'cli.js');
const outDir = join(root, 'node_modules', '.cache', `qindex-doctor-test-${process.pid}`);
let cli = distCli;
let dir: string;

const newest = (d: string): number =>
  Math.max(
    0,
    ...readdirSync(d, { withFileTypes: true }).map((e) =>
      e.isDirectory() ? newest(join(d, e.name)) : statSync(join(d, e.name)).mtimeMs,
    ),
  );

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qindex-doctor-'));
  if (existsSync(distCli) && statSync(distCli).mtimeMs >= newest(join(root, 'src'))) return;
  cli = join(outDir, 'src', 'cli.js');
  await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: root }).catch(
    (e: unknown) => {
      // Type errors elsewhere in the tree still emit JavaScript; only a missing CLI is fatal.
      if (!existsSync(cli)) throw e;
    },
  );
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outDir, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  report: DoctorReport;
  stdout: string;
  stderr: string;
  /** Secrets the child had (refresh token, AWS secret key): none may appear in its output. */
  secrets: string[];
}

async function doctor(
  mode: SandboxMode,
  options: {
    overrides?: ConfigOverrides;
    username?: string | null;
    file?: string;
    human?: boolean;
    noAwsKeys?: boolean;
    /** More flags, after `doctor --config <file>`. */
    args?: string[];
  } = {},
): Promise<Outcome> {
  const sb = sandbox();
  const input = configInputFor(sb.description, mode, { logging: { level: 'info' }, ...options.overrides });
  const path = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(path, options.file ?? JSON.stringify(input));
  const base = mode === 'data-accessor' ? sb.description.modes.dataAccessor : sb.description.modes.idc;
  const username = options.username === undefined ? 'alice' : options.username;
  const refreshToken = username
    ? await controlClient(sb.description.control).mintRefreshToken({ username, clientId: input.idp.clientId })
    : undefined;
  const env = {
    PATH: process.env.PATH,
    HOME: dir,
    QINDEX_CONFIG_DIR: join(dir, 'cfg'),
    ...(options.noAwsKeys
      ? {}
      : {
          AWS_ACCESS_KEY_ID: base.baseCredentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: base.baseCredentials.secretAccessKey,
        }),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...(refreshToken ? { QINDEX_REFRESH_TOKEN: refreshToken } : {}),
  };
  const args = [
    cli,
    'doctor',
    '--config',
    path,
    ...(options.args ?? []),
    ...(options.human ? [] : ['--json']),
  ];
  const result = await run(process.execPath, args, { env }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
  const report = options.human
    ? ({ ok: false, steps: [] } as DoctorReport)
    : (JSON.parse(result.stdout) as DoctorReport);
  const secrets = [refreshToken, env.AWS_SECRET_ACCESS_KEY].filter((x): x is string => Boolean(x));
  return { code: result.code, report, stdout: result.stdout, stderr: result.stderr, secrets };
}

const step = (o: Outcome, name: string) => o.report.steps.find((s) => s.name === name);
const statuses = (o: Outcome) => o.report.steps.map((s) => `${s.name}:${s.status}`);

// Each test spawns its own CLI against the shared sandbox with its own user and config: they run side by side.
describe.concurrent('qindex-mcp doctor', { timeout: 60_000 }, () => {
  it('passes every step on a good idc configuration', async () => {
    const o = await doctor('idc');
    expect(o.code).toBe(0);
    expect(o.report.ok).toBe(true);
    expect(statuses(o)).toEqual([
      'configuration:passed',
      'IdP discovery:passed',
      'sign-in:passed',
      'sso-oidc:CreateTokenWithIAM:passed',
      'sts:AssumeRole (identity context):passed',
      'qbusiness:SearchRelevantContent:passed',
    ]);
    expect(step(o, 'sign-in')?.detail).toContain('alice@example.com');
    expect(o.secrets).toHaveLength(2);
    for (const secret of o.secrets) expect(`${o.stdout}${o.stderr}`).not.toContain(secret);
  });

  it('passes on data-accessor and iam-federation, naming each exchange call', async () => {
    const [da, fed] = await Promise.all([doctor('data-accessor'), doctor('iam-federation')]);
    expect(da.code).toBe(0);
    expect(statuses(da)).toEqual(
      expect.arrayContaining([
        'sts:AssumeRole (tenant tag):passed',
        'sso-oidc:CreateTokenWithIAM:passed',
        'sts:AssumeRole (identity context):passed',
        'qbusiness:SearchRelevantContent:passed',
      ]),
    );
    expect(fed.code).toBe(0);
    expect(statuses(fed)).toContain('sts:AssumeRoleWithWebIdentity:passed');
  });

  it('a broken configuration file: the configuration step fails, naming the field', async () => {
    const o = await doctor('idc', {
      file: JSON.stringify({ idp: { issuer: 'https://x.example.com' }, mode: { type: 'idc' } }),
    });
    expect(o.code).toBe(1);
    expect(step(o, 'configuration')).toMatchObject({ status: 'failed', code: 'config_invalid' });
    expect(step(o, 'configuration')?.detail).toContain('idp.clientId is missing');
    expect(step(o, 'qbusiness:SearchRelevantContent')?.status).toBe('skipped');
  });

  it('rules across fields fail the configuration step, naming the fields and where they came from', async () => {
    const [noResource, offLoopback, tenants] = await Promise.all([
      doctor('idc', { overrides: { http: { auth: 'bearer' } } }),
      doctor('idc', { args: ['--host', '0.0.0.0'] }),
      doctor('idc', {
        overrides: {
          http: {
            auth: 'bearer',
            resource: 'https://mcp.example.com/mcp',
            tenants: {
              acme: {
                tenantId: 'acme',
                idcApplicationArn: sandbox().description.modes.dataAccessor.idcApplicationArn,
                applicationId: sandbox().description.modes.idc.applicationId,
                retrieverId: sandbox().description.modes.idc.retrieverId,
              },
            },
          },
        },
      }),
    ]);
    for (const o of [noResource, offLoopback, tenants]) {
      expect(o.code).toBe(1);
      expect(step(o, 'configuration')).toMatchObject({ status: 'failed', code: 'config_invalid' });
      expect(
        statuses(o)
          .slice(1)
          .every((s) => s.endsWith(':skipped')),
      ).toBe(true);
    }
    expect(step(noResource, 'configuration')?.detail).toContain(
      'http.resource is missing: http.auth "bearer" needs it',
    );
    expect(step(noResource, 'configuration')?.detail).toContain('or pass --resource');
    expect(step(offLoopback, 'configuration')?.detail).toContain(
      'http.host (from flag --host) is "0.0.0.0": local HTTP mode (http.auth "none")',
    );
    expect(step(offLoopback, 'configuration')?.detail).toContain('binds loopback only');
    expect(step(tenants, 'configuration')?.detail).toMatch(
      /mode\.type \(in \S+\.json\) is "idc": http\.tenants needs mode\.type "data-accessor"/,
    );
  });

  it('a q.applicationId Q does not know: the configuration error naming the field and the file', async () => {
    const o = await doctor('idc', {
      overrides: { q: { applicationId: 'a1b2c3d4-5678-90ab-cdef-00000000dead' } },
    });
    expect(o.code).toBe(1);
    expect(step(o, 'sts:AssumeRole (identity context)')?.status).toBe('passed');
    const search = step(o, 'qbusiness:SearchRelevantContent');
    expect(search).toMatchObject({ status: 'failed', code: 'config_invalid' });
    expect(search?.detail).toMatch(/comes from q\.applicationId \(in \S+\.json\)/);
    expect(search?.remedy).toMatch(
      /^Set q\.applicationId in \S+\.json to the id of the Amazon Q Business application/,
    );
  });

  it("bearer HTTP mode: serve's verifier checks the sign-in token, then the chain runs", async () => {
    const resource = sandbox().description.mcpResource;
    const [good, badAlg] = await Promise.all([
      doctor('data-accessor', { args: ['--auth', 'bearer', '--resource', resource] }),
      doctor('data-accessor', { overrides: { http: { auth: 'bearer', resource, algorithms: ['ES512'] } } }),
    ]);
    expect(good.code).toBe(0);
    expect(step(good, 'configuration')?.detail).toContain(`HTTP bearer mode for ${resource}`);
    expect(step(good, 'HTTP bearer token check')).toMatchObject({ status: 'passed' });
    expect(step(good, 'HTTP bearer token check')?.detail).toContain(
      `bearer tokens must be issued for ${resource}`,
    );
    expect(step(good, 'qbusiness:SearchRelevantContent')?.status).toBe('passed');
    // The verifier really ran: it refuses the IdP's algorithm when http.algorithms leaves it out.
    expect(badAlg.code).toBe(1);
    expect(step(badAlg, 'HTTP bearer token check')).toMatchObject({
      status: 'failed',
      code: 'invalid_token',
    });
    expect(step(badAlg, 'HTTP bearer token check')?.detail).toContain('forbidden algorithm');
    expect(step(badAlg, 'sts:AssumeRole (tenant tag)')?.status).toBe('skipped');
  });

  it('an unreachable IdP: discovery fails', async () => {
    const o = await doctor('idc', { overrides: { idp: { issuer: 'http://127.0.0.1:9' } }, username: null });
    expect(o.code).toBe(1);
    expect(step(o, 'IdP discovery')).toMatchObject({ status: 'failed', code: 'idp_unavailable' });
    expect(step(o, 'IdP discovery')?.remedy).toContain('idp.issuer');
  });

  it('nobody signed in: the sign-in step fails with the login command', async () => {
    const o = await doctor('idc', { username: null });
    expect(o.code).toBe(1);
    expect(step(o, 'sign-in')?.status).toBe('failed');
    // The login command as this doctor was invoked (src/config/invocation.ts), with its --config.
    expect(step(o, 'sign-in')?.remedy).toMatch(/`\S+ \S*cli\.js login --config \S+\.json`/);
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')?.status).toBe('skipped');
  });

  it('an IdC application that does not trust the issuer: CreateTokenWithIAM fails with the remedy', async () => {
    const arn = sandbox().world.idcApplications.find((a) => a.arn.endsWith('apl-notrust00001'))!.arn;
    const o = await doctor('idc', { overrides: { mode: { idcApplicationArn: arn } } });
    expect(o.code).toBe(1);
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')).toMatchObject({
      status: 'failed',
      code: 'untrusted_issuer',
    });
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')?.remedy).toContain('trusted token issuer');
    expect(step(o, 'sts:AssumeRole (identity context)')?.status).toBe('skipped');
  });

  it('a role without sts:SetContext: the AssumeRole step fails', async () => {
    const roleArn = sandbox().world.roles.find((r) => r.name === 'QIndexMcpNoSetContextRole')!.arn;
    const o = await doctor('idc', { overrides: { mode: { roleArn } } });
    expect(o.code).toBe(1);
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')?.status).toBe('passed');
    expect(step(o, 'sts:AssumeRole (identity context)')).toMatchObject({
      status: 'failed',
      code: 'role_trust',
    });
  });

  it('data-accessor with a wrong tenant id: CreateTokenWithIAM fails after the tagged AssumeRole', async () => {
    const o = await doctor('data-accessor', { overrides: { mode: { tenantId: 'tenant-wrong' } } });
    expect(o.code).toBe(1);
    expect(step(o, 'sts:AssumeRole (tenant tag)')?.status).toBe('passed');
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')).toMatchObject({
      status: 'failed',
      code: 'tenant_mismatch',
    });
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')?.remedy).toContain('mode.tenantId');
  });

  it('no AWS credentials for the app: the first signed call fails, saying where credentials come from', async () => {
    const o = await doctor('idc', { noAwsKeys: true });
    expect(o.code).toBe(1);
    expect(step(o, 'sign-in')?.status).toBe('passed');
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')).toMatchObject({
      status: 'failed',
      code: 'aws_credentials_missing',
    });
    expect(step(o, 'sso-oidc:CreateTokenWithIAM')?.remedy).toContain('AWS_PROFILE');
  });

  it('a wrong retriever: SearchRelevantContent fails; human output goes to stderr', async () => {
    const o = await doctor('idc', {
      overrides: { q: { retrieverId: 'ret00000-0000-4000-8000-00000000dead' } },
      human: true,
    });
    expect(o.code).toBe(1);
    expect(o.stderr).toContain('✓ sts:AssumeRole (identity context)');
    expect(o.stderr).toMatch(/✗ qbusiness:SearchRelevantContent\s+failed/);
    expect(o.stderr).toContain('fix:');
    for (const secret of o.secrets) expect(`${o.stdout}${o.stderr}`).not.toContain(secret);
  });
});
