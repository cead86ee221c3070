#!/usr/bin/env node
/**
 * @module The `qindex-mcp` command: parses the sub-command and hands over to src/cli/<command>.ts.
 */
import { readFileSync } from 'node:fs';
import nodeModule from 'node:module';
import { commands, nodeSupportNotice } from './cli/index.js';
import { recordInvocation } from './config/invocation.js';
import { renderError } from './errors.js';

// Node 22.1+ keeps the compiled code of the modules loaded from here on (os.tmpdir()/node-compile-cache,
// keyed by content; NODE_DISABLE_COMPILE_CACHE=1 turns it off): a later start skips most of the parsing
// that dominates a cold start. Node 20 has no such cache.
(nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();

async function main(argv: string[]): Promise<number> {
  // Fix-it messages repeat the command the way it was run here (program, --config, --profile …).
  recordInvocation();
  const [name, ...rest] = argv;
  if (!name) {
    process.stderr.write(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  nodeVersionNotice(name, rest);
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${usage()}`);
    return 2;
  }
  return command.run(rest);
}

/** The version in the package.json above this file: src/ under tsx, dist/src/ when built or installed. */
function version(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'qindex-mcp' && pkg.version) return pkg.version;
    } catch {
      // Not this one: try the next level up.
    }
  }
  return 'unknown';
}

/** Non-serve commands say the Node notice as one plain line; `serve` logs it (stdout is JSON-RPC). */
function nodeVersionNotice(command: string, args: string[]): void {
  const text = nodeSupportNotice();
  const help = args.includes('--help') || args.includes('-h');
  if (text && command !== 'serve' && !help) process.stderr.write(`qindex-mcp: ${text}\n`);
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
    process.stderr.write(`qindex-mcp: ${renderError(error, { audience: 'cli' }).text}\n`);
    process.exitCode = 1;
  },
);
