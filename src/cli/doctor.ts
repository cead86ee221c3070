/**
 * @module `qindex-mcp doctor`: walks the whole chain — configuration, IdP discovery, a usable login,
 * each exchange call of the mode, one SearchRelevantContent — and reports each step as passed, failed
 * (with the remedy) or skipped. Human output on stderr, `--json` on stdout; exit code 1 on a failure.
 */
import { parseArgs } from 'node:util';
import { decodeJwt, errors as joseErrors } from 'jose';
import { openSignIn } from '../auth/index.js';
import { createOidc } from '../auth/oidc.js';
import {
  commonFlagOptions,
  headlessRefreshToken,
  httpFlagOptions,
  type FlagValues,
} from '../config/flags.js';
import { loadConfigDetailed } from '../config/load.js';
import type { QindexConfig } from '../config/schema.js';
import { ErrorCode, hasCode, isQindexError, renderError } from '../errors.js';
import { createCredentialProvider, type ExchangeStep, type StepEvent } from '../identity/index.js';
import { createLogger, type LogLevel } from '../log.js';
import { createQClient } from '../q/client.js';
import { configuredBearerVerifier } from '../server/http/bearer.js';
import { createTenantResolver, type TenantResolver } from '../server/http/tenants.js';
import type { CommandRunner } from './index.js';

export interface DoctorStep {
  name: string;
  status: 'passed' | 'failed' | 'skipped';
  detail?: string;
  code?: string;
  remedy?: string;
}

export interface DoctorReport {
  ok: boolean;
  profile?: string;
  mode?: string;
  steps: DoctorStep[];
}

const USAGE = `Usage: qindex-mcp doctor [--json] [--interactive] [options]

Checks every step from the configuration to one Amazon Q Business search, and says how to fix the
first one that fails. Exit code 1 when a step fails.

  --json                 print the report as JSON on stdout
  --interactive          data-accessor auth-code mode: run the IAM Identity Center browser login
  --config <file>, --profile <name>, and every flag of docs/configuration.md (the HTTP
                         ones too: doctor then checks what \`serve --transport http\` would use)
  -h, --help             show this help
`;

/** The exchange calls of each mode, in order, named as in design.md section 2. */
function exchangeSteps(mode: QindexConfig['mode']): ExchangeStep[] {
  if (mode.type === 'idc') return ['sso-oidc:CreateTokenWithIAM', 'sts:AssumeRole (identity context)'];
  if (mode.type === 'iam-federation') return ['sts:AssumeRoleWithWebIdentity'];
  const login: ExchangeStep[] = mode.grant === 'auth-code' ? ['idc:authorize'] : [];
  return [
    'sts:AssumeRole (tenant tag)',
    ...login,
    'sso-oidc:CreateTokenWithIAM',
    'sts:AssumeRole (identity context)',
  ];
}

/** Environment of the doctor run; default: the process's (read by src/config only). */
type Env = Record<string, string | undefined>;

export async function runDoctor(flags: FlagValues, env?: Env): Promise<DoctorReport> {
  const steps: DoctorStep[] = [];
  const report: DoctorReport = { ok: false, steps };
  const fail = (name: string, e: unknown) => {
    const r = renderError(e, { audience: 'cli' });
    steps.push({
      name,
      status: 'failed',
      detail: r.message,
      code: r.code,
      ...(r.remedy ? { remedy: r.remedy } : {}),
    });
    return report;
  };
  const skip = (names: string[]) => names.forEach((name) => steps.push({ name, status: 'skipped' }));

  // The configuration as serve loads it: file, variables and flags, each field's check and the rules
  // across fields; in bearer mode also serve's tenant table.
  let config: QindexConfig;
  let logLevel: LogLevel = 'silent';
  let tenants: TenantResolver | undefined;
  try {
    const loaded = await loadConfigDetailed({ flags, ...(env ? { env } : {}) }, { require: 'all' });
    config = loaded.config;
    if (bearerMode(config)) tenants = createTenantResolver(config);
    // Doctor's report is its output: logs only when this run asks for them.
    if (loaded.sources.get('logging.level')?.kind === 'flag') logLevel = config.logging.level;
    steps.push({ name: 'configuration', status: 'passed', detail: configDetail(config, loaded.file) });
  } catch (e) {
    fail('configuration', e);
    skip(['IdP discovery', 'sign-in', 'identity exchange', 'qbusiness:SearchRelevantContent']);
    return report;
  }
  report.profile = config.profile;
  report.mode =
    config.mode.type === 'data-accessor' ? `data-accessor (${config.mode.grant})` : config.mode.type;
  const logger = createLogger({ level: logLevel });
  const bearer = bearerMode(config);
  const bearerSteps = bearer ? [BEARER_STEP, ...(config.http?.tenants ? [TENANT_STEP] : [])] : [];
  const later = [...exchangeSteps(config.mode), 'qbusiness:SearchRelevantContent'];
  const authCode = config.mode.type === 'data-accessor' && config.mode.grant === 'auth-code';

  // Sign-in's own discovery (openid-client), the one serve's sign-in and refresh use.
  try {
    const metadata = (await createOidc(config.idp).configuration()).serverMetadata();
    steps.push({
      name: 'IdP discovery',
      status: 'passed',
      detail: `${config.idp.issuer} (token endpoint ${metadata.token_endpoint ?? 'none'})`,
    });
  } catch (e) {
    fail('IdP discovery', e);
    skip(['sign-in', ...bearerSteps, ...later]);
    return report;
  }

  // The token of this step is fresh and never used: the first exchange may use it as its assertion.
  let firstToken: string | undefined;
  const signIn = openSignIn(config, {
    logger,
    refreshToken: headlessRefreshToken(env),
    ...(env ? { env } : {}),
  });
  if (authCode) {
    const interactive = flags.interactive === true;
    steps.push({
      name: 'sign-in',
      status: 'skipped',
      detail: 'auth-code mode signs in through IAM Identity Center',
      ...(interactive
        ? {}
        : {
            remedy:
              'Run `qindex-mcp doctor --interactive` to check the IAM Identity Center login and the exchange.',
          }),
    });
    skip(bearerSteps);
    if (!interactive) {
      skip(later);
      report.ok = true;
      return report;
    }
  } else {
    try {
      firstToken = await signIn.freshIdToken();
      // sign-in already validated it (signature, issuer, audience); only names are read here.
      const claims = decodeJwt(firstToken);
      steps.push({
        name: 'sign-in',
        status: 'passed',
        detail: `fresh ID token for ${claims.email ?? claims.sub}`,
      });
    } catch (e) {
      fail('sign-in', e);
      skip([...bearerSteps, ...later]);
      return report;
    }
  }

  // Bearer mode: serve's verifier and tenant table, tried on the sign-in's token.
  let chainConfig = config;
  if (bearer && firstToken) {
    try {
      steps.push({ name: BEARER_STEP, status: 'passed', detail: await checkVerifier(config, firstToken) });
    } catch (e) {
      fail(BEARER_STEP, e);
      skip([...bearerSteps.slice(1), ...later]);
      return report;
    }
    if (tenants && config.http?.tenants) {
      try {
        const tenant = pickTenant(config, tenants, firstToken);
        steps.push({ name: TENANT_STEP, ...tenant.step });
        chainConfig = tenant.config;
      } catch (e) {
        fail(TENANT_STEP, e);
        skip(later);
        return report;
      }
    }
  }

  const seen = new Set<string>();
  const onStep = (event: StepEvent) => {
    if (event.step === 'sign-in: fresh ID token' || seen.has(event.step)) return;
    seen.add(event.step);
    if (event.ok) steps.push({ name: event.step, status: 'passed' });
    else fail(event.step, event.error);
  };
  // serve's credential provider and Q client, built the way local-context.ts builds them.
  const provider = createCredentialProvider(chainConfig, {
    logger,
    onStep,
    freshIdToken: async () => {
      const token = firstToken ?? (await signIn.freshIdToken());
      firstToken = undefined;
      return token;
    },
  });
  try {
    await provider();
  } catch (e) {
    if (!steps.some((st) => st.status === 'failed')) {
      // A failure no call reported (e.g. sign-in during the exchange): pin it on the next call.
      const next = exchangeSteps(chainConfig.mode).find((st) => !seen.has(st)) ?? 'identity exchange';
      seen.add(next);
      fail(next, e);
    }
    skip([
      ...exchangeSteps(chainConfig.mode).filter((st) => !seen.has(st)),
      'qbusiness:SearchRelevantContent',
    ]);
    return report;
  }

  const q = createQClient(chainConfig, { credentials: provider, logger });
  try {
    const result = await q.search({ queryText: 'qindex-mcp doctor', maxResults: 1 });
    steps.push({
      name: 'qbusiness:SearchRelevantContent',
      status: 'passed',
      detail: `${result.passages.length} result(s) for ${provider.identity()?.email ?? 'the user'}`,
    });
  } catch (e) {
    // A configured id Q does not know comes back from the client as the configuration error naming it.
    fail('qbusiness:SearchRelevantContent', e);
    return report;
  } finally {
    q.destroy();
  }
  report.ok = true;
  return report;
}

const BEARER_STEP = 'HTTP bearer token check';
const TENANT_STEP = 'HTTP tenant';

const bearerMode = (config: QindexConfig) => config.http?.auth === 'bearer';

function configDetail(config: QindexConfig, file: string | undefined): string {
  const source = file ?? 'no file; environment and flags';
  const http = config.http;
  if (!http || http.auth !== 'bearer') return source;
  const tenants = http.tenants ? `, tenants ${Object.keys(http.tenants).join(', ')}` : '';
  return `${source}; HTTP bearer mode for ${http.resource ?? '?'}${tenants}`;
}

/**
 * Runs serve's bearer verifier on the sign-in's ID token: it fetches the signing keys (http.jwksUri or
 * the discovered jwks_uri) and checks signature, algorithm and issuer. An ID token is issued for the
 * client, not this server, so only a refused audience is expected; any other refusal is the finding.
 */
async function checkVerifier(config: QindexConfig, idToken: string): Promise<string> {
  const http = config.http!;
  const keys = http.jwksUri ?? 'the discovered jwks_uri';
  try {
    await configuredBearerVerifier(config.idp.issuer, http)(idToken);
    return `signing keys from ${keys}; this IdP's tokens verify for ${http.resource}`;
  } catch (e) {
    const cause = isQindexError(e) ? e.cause : undefined;
    if (!hasCode(e, ErrorCode.InvalidToken)) throw e;
    if (!(cause instanceof joseErrors.JWTClaimValidationFailed) || cause.claim !== 'aud') throw e;
    return `signing keys from ${keys} verify this IdP's tokens (signature, algorithm, issuer); bearer tokens must be issued for ${http.resource}`;
  }
}

/** The tenant serve would pick for a token with the sign-in's claims; its configuration runs the chain. */
function pickTenant(
  config: QindexConfig,
  tenants: TenantResolver,
  idToken: string,
): { step: Omit<DoctorStep, 'name'>; config: QindexConfig } {
  const claim = config.http!.tenantClaim;
  const claims = decodeJwt(idToken);
  if (claims[claim] === undefined) {
    return {
      step: {
        status: 'skipped',
        detail: `the sign-in's ID token has no "${claim}" claim (bearer tokens need one); checking the chain with mode and q`,
      },
      config,
    };
  }
  const tenant = tenants(claims);
  return {
    step: { status: 'passed', detail: `"${claim}" names tenant ${tenant.name}` },
    config: tenant.config,
  };
}

function printHuman(report: DoctorReport): void {
  const out = (line: string) => process.stderr.write(`${line}\n`);
  out(`qindex-mcp doctor${report.profile ? ` — profile "${report.profile}", mode ${report.mode}` : ''}`);
  const mark = { passed: '✓', failed: '✗', skipped: '-' } as const;
  for (const s of report.steps) {
    out(`  ${mark[s.status]} ${s.name.padEnd(36)} ${s.status}${s.detail ? `: ${s.detail}` : ''}`);
    if (s.remedy) out(`      fix: ${s.remedy}`);
  }
  out(report.ok ? 'All checks passed.' : 'A check failed: see "fix" above.');
}

export const doctor: CommandRunner = {
  async run(args) {
    let flags: FlagValues;
    try {
      flags = parseArgs({
        args,
        options: {
          ...commonFlagOptions,
          ...httpFlagOptions,
          json: { type: 'boolean' },
          interactive: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        strict: true,
      }).values as FlagValues;
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (flags.help) {
      process.stderr.write(USAGE);
      return 0;
    }
    const report = await runDoctor(flags);
    if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else printHuman(report);
    return report.ok ? 0 : 1;
  },
};
