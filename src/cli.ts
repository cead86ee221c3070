#!/usr/bin/env node
/**
 * @module The `qindex-mcp` command: parses the sub-command and hands over to src/cli/<command>.ts.
 */
import { commands } from './cli/index.js';
import { describeError } from './errors.js';

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stderr.write(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-v') {
    process.stderr.write(`${process.env.npm_package_version ?? 'qindex-mcp'}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return `Usage: qindex-mcp <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "qindex-mcp <command> --help" for a command's options.\n`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`qindex-mcp: ${describeError(error)}\n`);
    process.exitCode = 1;
  },
);
