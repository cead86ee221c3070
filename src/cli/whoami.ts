/**
 * @module `qindex-mcp whoami`: who is signed in, to which issuer, until when, and in which store. Never a token.
 */
import type { CommandRunner } from './index.js';
import { describeLogin, parseCommand, runCommand, signInFromFlags } from './login.js';

const USAGE = `Usage: qindex-mcp whoami [--profile <name>] [--json] [options]

Shows who is signed in for a profile (never a token). Exit code 1 when no one is.

  --json                 print the login as JSON on stdout
  --profile <name>       login profile (default "default")
  --issuer <url>, --client-id <id>, --token-store <store>, --config <file>
  -h, --help             show this help
`;

export const whoami: CommandRunner = {
  run: (args) =>
    runCommand(async () => {
      const flags = parseCommand(args, { json: { type: 'boolean' } }, USAGE);
      if (typeof flags === 'number') return flags;
      const { signIn, profile } = await signInFromFlags(flags);
      const info = await signIn.current();
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify(info ? { signedIn: true, ...info } : { signedIn: false, profile })}\n`,
        );
      }
      if (!info) {
        if (!flags.json)
          process.stderr.write(
            `Not signed in (profile "${profile}"). Run \`qindex-mcp login${profile === 'default' ? '' : ` --profile ${profile}`}\`.\n`,
          );
        return 1;
      }
      if (!flags.json) process.stderr.write(`Signed in: ${describeLogin(info)}.\n`);
      return 0;
    }),
};
