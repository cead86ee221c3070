/**
 * @module `qindex-mcp doctor`: walks the whole chain — configuration, IdP discovery, a usable login,
 * each exchange call of the mode, one SearchRelevantContent — and reports each step as passed, failed
 * (with the remedy) or skipped. Human output on stderr, `--json` on stdout; exit code 1 on a failure.
 */
import { parseArgs } from 'node:util';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import { decodeJwt } from 'jose';
import { openSignIn } from '../auth/index.js';
import { commonFlagOptions, type FlagValues } from '../config/flags.js';
import { loadConfigDetailed } from '../config/load.js';
import type { QindexConfig } from '../config/schema.js';
import { QindexError, describeError, isQindexError } from '../errors.js';
import { createCredentialProvider, type ExchangeStep, type StepEvent } from '../identity/index.js';
import { createLogger, type LogLevel } from '../log.js';
import { toQindexError } from '../q/errors.js';
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
  --config <file>, --profile <name>, and every flag of docs/configuration.md
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

export async function runDoctor(
  flags: FlagValues,
  env: Record<string, string | undefined> = process.env,
): Promise<DoctorReport> {
  const steps: DoctorStep[] = [];
  const report: DoctorReport = { ok: false, steps };
  const fail = (name: string, e: unknown) => {
    steps.push({
      name,
      status: 'failed',
      detail: isQindexError(e) ? e.message : describeError(e),
      ...(isQindexError(e) ? { code: e.code, ...(e.remedy ? { remedy: e.remedy } : {}) } : {}),
    });
    return report;
  };
  const skip = (names: string[]) => names.forEach((name) => steps.push({ name, status: 'skipped' }));

  let config: QindexConfig;
  try {
    const loaded = await loadConfigDetailed({ flags, env }, { require: 'all' });
    config = loaded.config;
    steps.push({
      name: 'configuration',
      status: 'passed',
      detail: loaded.file ?? 'no file; environment and flags',
    });
  } catch (e) {
    fail('configuration', e);
    skip(['IdP discovery', 'sign-in', 'identity exchange', 'qbusiness:SearchRelevantContent']);
    return report;
  }
  report.profile = config.profile;
  report.mode =
    config.mode.type === 'data-accessor' ? `data-accessor (${config.mode.grant})` : config.mode.type;
  const logger = createLogger({ level: (flags['log-level'] as LogLevel | undefined) ?? 'silent' });
  const later = [...exchangeSteps(config.mode), 'qbusiness:SearchRelevantContent'];
  const authCode = config.mode.type === 'data-accessor' && config.mode.grant === 'auth-code';

  try {
    steps.push({ name: 'IdP discovery', status: 'passed', detail: await discover(config.idp.issuer) });
  } catch (e) {
    fail('IdP discovery', e);
    skip(['sign-in', ...later]);
    return report;
  }

  // The token of this step is fresh and never used: the first exchange may use it as its assertion.
  let firstToken: string | undefined;
  const signIn = openSignIn(config, { logger, env });
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
      skip(later);
      return report;
    }
  }

  const seen = new Set<string>();
  const onStep = (event: StepEvent) => {
    if (event.step === 'sign-in: fresh ID token' || seen.has(event.step)) return;
    seen.add(event.step);
    if (event.ok) steps.push({ name: event.step, status: 'passed' });
    else fail(event.step, event.error);
  };
  const provider = createCredentialProvider(config, {
    logger,
    onStep,
    freshIdToken: async () => {
      const token = firstToken ?? (await signIn.freshIdToken());
      firstToken = undefined;
      return token;
    },
  });
  let credentials;
  try {
    credentials = await provider();
  } catch (e) {
    if (!steps.some((st) => st.status === 'failed')) {
      // A failure no call reported (e.g. sign-in during the exchange): pin it on the next call.
      const next = exchangeSteps(config.mode).find((st) => !seen.has(st)) ?? 'identity exchange';
      seen.add(next);
      fail(next, e);
    }
    skip([...exchangeSteps(config.mode).filter((st) => !seen.has(st)), 'qbusiness:SearchRelevantContent']);
    return report;
  }

  const q = new QBusinessClient({
    region: config.q.region,
    credentials,
    ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
  });
  try {
    const result = await q.send(
      new SearchRelevantContentCommand({
        applicationId: config.q.applicationId,
        queryText: 'qindex-mcp doctor',
        contentSource: { retriever: { retrieverId: config.q.retrieverId } },
        maxResults: 1,
      }),
    );
    steps.push({
      name: 'qbusiness:SearchRelevantContent',
      status: 'passed',
      detail: `${result.relevantContent?.length ?? 0} result(s) for ${provider.identity()?.email ?? 'the user'}`,
    });
  } catch (e) {
    fail('qbusiness:SearchRelevantContent', toQindexError(e, 'SearchRelevantContent'));
    return report;
  } finally {
    q.destroy();
  }
  report.ok = true;
  return report;
}

/** Fetches the IdP's discovery document and checks that it names this issuer. */
async function discover(issuer: string): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const problem = (message: string, cause?: unknown) =>
    new QindexError('idp_discovery_failed', message, {
      cause,
      retryable: true,
      remedy: `Check idp.issuer: ${issuer} must serve OpenID Connect discovery at ${url}.`,
    });
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
  } catch (e) {
    throw problem(
      `Cannot reach the identity provider at ${url}: ${(e as Error).cause ?? (e as Error).message}.`,
      e,
    );
  }
  if (!res.ok) throw problem(`${url} answered HTTP ${res.status}.`);
  const doc = (await res.json().catch(() => ({}))) as { issuer?: string; token_endpoint?: string };
  if (doc.issuer?.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) {
    throw problem(`The discovery document names issuer ${String(doc.issuer)}, not ${issuer}.`);
  }
  if (!doc.token_endpoint) throw problem('The discovery document has no token_endpoint.');
  return `${issuer} (token endpoint ${doc.token_endpoint})`;
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
