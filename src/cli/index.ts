/**
 * @module The table of CLI commands. Each command lives in its own file beside this one and is
 * loaded only when run: `login` need not load the MCP SDK, the AWS clients or the HTTP server.
 */
export interface Command {
  summary: string;
  /** Returns the process exit code. */
  run(args: string[]): Promise<number>;
}

/** What a command file exports; its one-line summary stays in this table. */
export type CommandRunner = Pick<Command, 'run'>;

const lazy = (summary: string, load: () => Promise<CommandRunner>): Command => ({
  summary,
  run: async (args) => (await load()).run(args),
});

export const commands: Record<string, Command> = {
  doctor: lazy(
    'Check configuration, sign-in, the identity exchange and one Q search, step by step',
    async () => (await import('./doctor.js')).doctor,
  ),
  login: lazy(
    'Sign in (browser or device code) and keep the login',
    async () => (await import('./login.js')).login,
  ),
  logout: lazy(
    'Sign out: revoke and remove the stored login',
    async () => (await import('./logout.js')).logout,
  ),
  serve: lazy(
    'Run the MCP server (started by an MCP client; stdio by default)',
    async () => (await import('./serve.js')).serve,
  ),
  whoami: lazy('Show who is signed in (never a token)', async () => (await import('./whoami.js')).whoami),
};

/**
 * On Node < 22: silences the AWS SDK's eight-line notice (printed on every start) and returns the same
 * fact in one line for the caller to say once.
 */
export function nodeSupportNotice(): string | undefined {
  if (Number(process.versions.node.split('.')[0]) >= 22) return undefined;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return `Node ${process.versions.node} is past its end of life; AWS SDK releases after early January 2027 need Node 22 or later.`;
}
