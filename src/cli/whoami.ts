/**
 * @module `qindex-mcp whoami`: who is signed in, to which issuer, until when, and in which store. Never a token.
 */
import type { CommandRunner } from './index.js';
import type { SignIn } from '../auth/index.js';
import { commandLine } from '../config/invocation.js';
import { ErrorCode, hasCode, renderError } from '../errors.js';
import { describeLogin, parseCommand, runCommand, signInFromFlags } from './login.js';

const USAGE = `Usage: qindex-mcp whoami [--profile <name>] [--json] [--offline] [options]

Shows who is signed in for a profile (never a token), after checking with the IdP that the sign-in
still works (one refresh). Exit code 1 when no one is signed in or the IdP refused the sign-in.

  --json                 print the result as JSON on stdout
  --offline              read the stored login only; do not ask the IdP
  --profile <name>       login profile (default "default")
  --issuer <url>, --client-id <id>, --token-store <store>, --config <file>
  -h, --help             show this help
`;

type Status = 'signed_in' | 'not_signed_in' | 'login_expired';
interface Checked {
  status: Status;
  note?: string;
}

/** The stored login says nothing about whether the IdP still honours it: one refresh does. */
async function check(signIn: SignIn): Promise<Checked> {
  try {
    await signIn.freshIdToken();
    return { status: 'signed_in' };
  } catch (e) {
    const said = renderError(e, { audience: 'cli' }).text;
    if (hasCode(e, ErrorCode.LoginExpired)) return { status: 'login_expired', note: said };
    return { status: 'signed_in', note: `not checked with the IdP: ${said}` };
  }
}

export const whoami: CommandRunner = {
  run: (args) =>
    runCommand(async () => {
      const flags = parseCommand(args, { json: { type: 'boolean' }, offline: { type: 'boolean' } }, USAGE);
      if (typeof flags === 'number') return flags;
      const { signIn, profile } = await signInFromFlags(flags);
      const login = commandLine('login', { profile });
      const info = await signIn.current();
      const { status, note } =
        info && !flags.offline
          ? await check(signIn)
          : ({ status: info ? 'signed_in' : 'not_signed_in' } as Checked);
      if (flags.json) {
        const verified = info && !flags.offline && !note;
        process.stdout.write(
          `${JSON.stringify({ signedIn: status === 'signed_in', status, profile, ...(info ?? {}), ...(info ? { verified: Boolean(verified) } : {}), ...(note ? { note } : {}) })}\n`,
        );
      } else if (status === 'not_signed_in') {
        process.stdout.write(`Not signed in (profile "${profile}"). Run \`${login}\`.\n`);
      } else if (status === 'login_expired') {
        process.stdout.write(`Signed out (profile "${profile}"): ${note}\n`);
      } else {
        process.stdout.write(`Signed in: ${describeLogin(info!)}${note ? ` (${note})` : ''}.\n`);
      }
      return status === 'signed_in' ? 0 : 1;
    }),
};
