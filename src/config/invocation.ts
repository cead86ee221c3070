/**
 * @module How this process was started, so that a fix-it message repeats the command the way the user
 * ran it: the same program (`qindex-mcp` on PATH, `npx qindex-mcp`, `node /abs/dist/src/cli.js`) and the
 * same configuration flags (`--config`, `--profile`, `--issuer` …). The CLI entry records it once; until
 * then (the modules used as a library, tests in-process) commands read `qindex-mcp <command>`.
 */
import { existsSync } from 'node:fs';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { CONFIG_ENV, CONFIG_FLAG, commonFlagOptions } from './flags.js';

export interface Invocation {
  /** The words that start the program, e.g. ['node', '/abs/dist/src/cli.js'] or ['qindex-mcp']. */
  program: string[];
  /** The configuration flags given, as [name, value] pairs (name without dashes). */
  flags: Array<[string, string]>;
}

type Env = Record<string, string | undefined>;

let current: Invocation = { program: ['qindex-mcp'], flags: [] };

/**
 * Records how the CLI was started: `argv` is process.argv ([node, script, command, ...args]), `argv0` the
 * node binary as typed. The flags kept are those that choose the configuration, which every command
 * accepts; QINDEX_CONFIG and QINDEX_PROFILE become flags, since the terminal the user types into lacks
 * the MCP client's `env`.
 */
export function recordInvocation(
  argv: string[] = process.argv,
  env: Env = process.env,
  argv0: string = process.argv0,
): Invocation {
  const [, script = 'qindex-mcp', , ...args] = argv;
  const node = argv0.includes('/') ? resolve(argv0) : argv0 || 'node';
  const flags = configFlags(args);
  const has = (name: string) => flags.some(([n]) => n === name);
  if (!has(CONFIG_FLAG) && env[CONFIG_ENV]) flags.unshift([CONFIG_FLAG, resolve(env[CONFIG_ENV])]);
  if (!has('profile') && env.QINDEX_PROFILE) flags.push(['profile', env.QINDEX_PROFILE]);
  current = { program: programOf(node, script, env), flags };
  return current;
}

/** The recorded invocation (or the default `qindex-mcp`). */
export const invocation = (): Invocation => current;

/**
 * The command line that runs `command` the way this process was run, e.g.
 * `node /abs/dist/src/cli.js login --config /abs/x.json --profile work`. `set` adds or replaces flags
 * (`true` for a switch, undefined to leave out); the default profile is never spelled out.
 */
export function commandLine(command: string, set: Record<string, string | true | undefined> = {}): string {
  const flag = (name: string, value: string | true | undefined) =>
    value === undefined || (name === 'profile' && value === 'default')
      ? []
      : [`--${name}`, ...(value === true ? [] : [value])];
  // A flag given and set again keeps its place; the others come after.
  const given = current.flags.flatMap(([n, v]) => flag(n, n in set ? set[n] : v));
  const added = Object.entries(set).flatMap(([n, v]) =>
    current.flags.some(([g]) => g === n) ? [] : flag(n, v),
  );
  return [...current.program, command, ...given, ...added].map(quote).join(' ');
}

/** Configuration flags that do not choose the setup: left out of fix-it commands. */
const NOT_REPEATED = new Set(['log-level']);

/** `--name value` / `--name=value` pairs whose name is a configuration flag; everything else is dropped. */
function configFlags(args: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(args[i]!);
    if (!m || !(m[1]! in commonFlagOptions)) continue;
    const value = m[2] ?? args[++i];
    if (value === undefined) break;
    if (NOT_REPEATED.has(m[1]!)) continue;
    // A relative --config works only from the same directory: repeat it absolute.
    out.push([m[1]!, m[1] === CONFIG_FLAG ? resolve(value) : value]);
  }
  return out;
}

/** How the user reaches this program: by name when PATH finds this same file, else by path. */
function programOf(node: string, script: string, env: Env): string[] {
  if (/\.[cm]?[jt]s$/.test(script)) {
    // Run through tsx (a development checkout): tsx runs the .ts file again.
    if (/\.[cm]?ts$/.test(script)) return ['npx', 'tsx', script];
    return [node, script];
  }
  // A bin link (npm's shim for `qindex-mcp`).
  if (env.npm_command === 'exec') return ['npx', 'qindex-mcp'];
  const onPath = (env.PATH ?? '')
    .split(delimiter)
    .some(
      (dir) => dir && resolve(dir) === dirname(resolve(script)) && existsSync(join(dir, basename(script))),
    );
  return [onPath ? basename(script) : resolve(script)];
}

/** Quotes a word for a POSIX shell when it needs it. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
