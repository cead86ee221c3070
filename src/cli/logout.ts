/**
 * @module `qindex-mcp logout`: revokes the refresh token at the IdP when it can, and removes the login from
 * the token store even when the IdP cannot be reached (saying so).
 */
import type { CommandRunner } from './index.js';
import { parseCommand, runCommand, signInFromFlags } from './login.js';

const USAGE = `Usage: qindex-mcp logout [--profile <name>] [options]

Removes the login of a profile and revokes its refresh token at the identity provider.

  --profile <name>       login profile (default "default")
  --issuer <url>, --client-id <id>, --token-store <store>, --config <file>
  -h, --help             show this help
`;

export const logout: CommandRunner = {
  run: (args) =>
    runCommand(async () => {
      const flags = parseCommand(args, {}, USAGE);
      if (typeof flags === 'number') return flags;
      const { signIn, profile } = await signInFromFlags(flags);
      const result = await signIn.logout();
      const say = (line: string) => process.stderr.write(`${line}\n`);
      if (!result.removed) {
        say(`No login for profile "${profile}" in ${result.location}: nothing to remove.`);
        return 0;
      }
      if (result.revoked)
        say(
          `Signed out of profile "${profile}": the refresh token was revoked at the IdP and removed from ${result.location}.`,
        );
      else if (result.revokeError) {
        say(
          `Removed the login of profile "${profile}" from ${result.location}, but it could not be revoked at the IdP: ${result.revokeError}`,
        );
        say(
          'The refresh token stays valid at the IdP until it expires; revoke the session there if that matters.',
        );
      } else
        say(
          `Signed out of profile "${profile}": removed from ${result.location} (the IdP offers no revocation endpoint).`,
        );
      return 0;
    }),
};
