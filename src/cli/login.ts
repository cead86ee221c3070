/**
 * @module `qindex-mcp login`: signs in with the browser (authorization code + PKCE) where one can be opened,
 * else with the device code, and keeps the refresh token in the token store. Also the small pieces the
 * sign-in commands share (flag parsing, config, the Ctrl-C signal).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { openSignIn, type LoginInfo, type SignIn } from '../auth/index.js';
import { commonFlagOptions, type FlagValues } from '../config/flags.js';
import { loadConfig } from '../config/load.js';
import { renderError } from '../errors.js';
import { createLogger, type LogLevel } from '../log.js';
import { deviceInstructions } from './device-instructions.js';
import type { CommandRunner } from './index.js';

type Options = NonNullable<ParseArgsConfig['options']>;
const say = (line: string) => process.stderr.write(`${line}\n`);

const COMMON_HELP = `  --profile <name>       login profile (default "default")
  --issuer <url>         OIDC issuer of the identity provider
  --client-id <id>       OIDC client id registered for qindex-mcp
  --token-store <store>  keychain | file | memory | auto (default auto)
  --config <file>        configuration file
  -h, --help             show this help`;

/** Parses a sign-in command's arguments: values, or an exit code (help printed, usage error said). */
export function parseCommand(args: string[], extra: Options, usage: string): FlagValues | number {
  try {
    const { values } = parseArgs({
      args,
      options: { ...commonFlagOptions, ...extra, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      // Asked-for help is output (so `| grep` works); usage after a mistake goes to stderr.
      process.stdout.write(usage);
      return 0;
    }
    return values as FlagValues;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${usage}`);
    return 2;
  }
}

/** Loads the sign-in part of the configuration and opens sign-in, with notices as plain stderr lines. */
export async function signInFromFlags(
  flags: FlagValues,
  env = process.env,
): Promise<{ signIn: SignIn; profile: string }> {
  const config = await loadConfig({ flags, env }, { require: 'idp' });
  const logger = createLogger({ level: config.logging.level as LogLevel });
  return { signIn: openSignIn(config, { logger, env, notify: say }), profile: config.profile };
}

/** Runs a command body, turning a thrown error into its message on stderr and exit code 1. */
export async function runCommand(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    say(`qindex-mcp: ${renderError(e, { audience: 'cli' }).text}`);
    return 1;
  }
}

/** An AbortSignal that fires on Ctrl-C (SIGINT) while `fn` runs. */
export async function withCtrlC<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function describeLogin(info: LoginInfo): string {
  const who = info.email ? `${info.email} (subject ${info.subject})` : `subject ${info.subject}`;
  const until = info.expiresAt
    ? `until ${info.expiresAt}`
    : 'until the IdP ends the session (it states no expiry)';
  return `${who} at ${info.issuer}, client "${info.clientId}", profile "${info.profile}", ${until}; kept in ${info.location}`;
}

/** A browser can be opened here: a desktop session on macOS/Windows, or a display on Linux/BSD. */
export function canOpenBrowser(env = process.env): boolean {
  if (process.platform === 'darwin' || process.platform === 'win32') return !env.SSH_CONNECTION;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

const USAGE = `Usage: qindex-mcp login [--device | --browser] [--no-open] [--timeout <seconds>] [options]

Signs in to the identity provider and keeps the login (a refresh token) in the token store.
Without --device or --browser: the browser where one can be opened, else the device code.

  --device               sign in with a code on another device (no browser needed here)
  --browser              sign in in a browser on this machine (authorization code + PKCE)
  --no-open              do not open the browser; print the URL instead (implies --browser)
  --timeout <seconds>    give up after this long (default 300 browser, 600 device)
${COMMON_HELP}
`;

export const login: CommandRunner = {
  run: (args) =>
    runCommand(async () => {
      const flags = parseCommand(
        args,
        {
          device: { type: 'boolean' },
          browser: { type: 'boolean' },
          'no-open': { type: 'boolean' },
          timeout: { type: 'string' },
        },
        USAGE,
      );
      if (typeof flags === 'number') return flags;
      if (flags.device && flags.browser) {
        process.stderr.write(`Choose one of --device and --browser.\n\n${USAGE}`);
        return 2;
      }
      let timeoutSeconds: number | undefined;
      if (flags.timeout !== undefined) {
        timeoutSeconds = Number(flags.timeout);
        if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) {
          process.stderr.write(
            `--timeout must be a whole number of seconds above 0, not "${String(flags.timeout)}".\n\n${USAGE}`,
          );
          return 2;
        }
      }
      const noOpen = flags['no-open'] === true;
      const useDevice = flags.device === true || (!flags.browser && !noOpen && !canOpenBrowser());
      const { signIn } = await signInFromFlags(flags);
      const info = await withCtrlC(async (signal) => {
        if (!useDevice) return signIn.loginBrowser({ signal, timeoutSeconds, open: !noOpen });
        const start = await signIn.startDevice({ signal, timeoutSeconds });
        process.stderr.write(deviceInstructions(start, { qr: true }));
        return start.completed;
      });
      say(`\nSigned in: ${describeLogin(info)}.`);
      return 0;
    }),
};
