/**
 * @module Loads the configuration: JSON file < environment variables < CLI flags, over the schema's
 * defaults, validated with zod. Every error names the field, where its value came from and what is expected.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ErrorCode, QindexError } from '../errors.js';
import { CONFIG_ENV, CONFIG_FLAG, SETTINGS, type FlagValues, type Setting } from './flags.js';
import { defaultConfigPath } from './paths.js';
import { RULE, crossFieldRules } from './rules.js';
import { ConfigFieldsSchema, ConfigSchema, ModeSchema, QSchema, type QindexConfig } from './schema.js';

type Env = Record<string, string | undefined>;

export interface LoadConfigInput {
  /** Values from `parseArgs` with `commonFlagOptions`. */
  flags?: FlagValues;
  env?: Env;
  /** Overrides `--config` / QINDEX_CONFIG. */
  configPath?: string;
}

export interface LoadConfigOptions {
  /** `idp`: only what login/logout/whoami need (mode and q may be absent); `all`: everything. */
  require: 'idp' | 'all';
}

/** What `require: 'idp'` returns: mode and q are there only when present and valid. */
export type IdpOnlyConfig = Omit<QindexConfig, 'mode' | 'q'> & Partial<Pick<QindexConfig, 'mode' | 'q'>>;

export type ValueSource =
  { kind: 'file'; file: string } | { kind: 'env'; name: string } | { kind: 'flag'; name: string };

export interface LoadedConfig<C> {
  config: C;
  /** The file read, or undefined when none existed (default path absent). */
  file: string | undefined;
  /** The path that was looked at (explicit or default). */
  filePath: string;
  /** Where each set leaf came from, by dotted path. */
  sources: Map<string, ValueSource>;
}

export async function loadConfig(input: LoadConfigInput, options: { require: 'all' }): Promise<QindexConfig>;
export async function loadConfig(input: LoadConfigInput, options: { require: 'idp' }): Promise<IdpOnlyConfig>;
export async function loadConfig(
  input: LoadConfigInput,
  options: LoadConfigOptions,
): Promise<QindexConfig | IdpOnlyConfig>;
export async function loadConfig(input: LoadConfigInput, options: LoadConfigOptions) {
  return (await loadConfigDetailed(input, options)).config;
}

/** Like loadConfig, plus which file was read and where each value came from (for doctor). */
export async function loadConfigDetailed(
  input: LoadConfigInput,
  options: { require: 'all' },
): Promise<LoadedConfig<QindexConfig>>;
export async function loadConfigDetailed(
  input: LoadConfigInput,
  options: { require: 'idp' },
): Promise<LoadedConfig<IdpOnlyConfig>>;
export async function loadConfigDetailed(
  input: LoadConfigInput,
  options: LoadConfigOptions,
): Promise<LoadedConfig<QindexConfig | IdpOnlyConfig>>;
export async function loadConfigDetailed(
  input: LoadConfigInput,
  options: LoadConfigOptions,
): Promise<LoadedConfig<QindexConfig | IdpOnlyConfig>> {
  const env = input.env ?? process.env;
  const flags = input.flags ?? {};
  const explicit = input.configPath ?? str(flags[CONFIG_FLAG]) ?? (env[CONFIG_ENV] || undefined);
  const filePath = explicit ?? defaultConfigPath(env);
  const fileData = await readConfigFile(filePath, explicit !== undefined);
  const sources = new Map<string, ValueSource>();
  const raw: Record<string, unknown> = fileData ?? {};
  if (fileData) recordLeaves(fileData, '', { kind: 'file', file: filePath }, sources);
  const fileModeType = sources.has('mode.type') ? get(raw, 'mode.type') : undefined;

  for (const s of SETTINGS) {
    const value = s.env ? env[s.env] : undefined;
    if (value !== undefined && value !== '') setFrom(raw, sources, s, value, { kind: 'env', name: s.env! });
  }
  applyFlagValues(raw, sources, flags);
  dropFieldsOfReplacedMode(raw, sources, fileModeType);
  // Absent sections become {} so that errors name their missing fields, not just the section.
  for (const section of ['idp', 'mode', 'q'] as const) raw[section] ??= {};

  const file = fileData ? filePath : undefined;
  const where = { raw, sources, file, filePath };
  if (options.require === 'all') {
    const parsed = ConfigSchema.safeParse(raw);
    if (!parsed.success) throw configError(parsed.error.issues, where);
    remember(parsed.data, sources);
    return { config: parsed.data, file, filePath, sources };
  }
  const parsed = IdpOnlySchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error.issues, where);
  const { mode, q, ...rest } = parsed.data;
  const config: IdpOnlyConfig = { ...rest };
  const m = ModeSchema.safeParse(mode);
  if (m.success) config.mode = m.data;
  const qq = QSchema.safeParse(q);
  if (qq.success) config.q = qq.data;
  return { config, file, filePath, sources };
}

const IdpOnlySchema = ConfigFieldsSchema.extend({
  mode: z.unknown().optional(),
  q: z.unknown().optional(),
}).superRefine(crossFieldRules);

/** Sets each configuration field a flag of `flags` names (flags win over file and environment). */
function applyFlagValues(raw: Record<string, unknown>, sources: Map<string, ValueSource>, flags: FlagValues) {
  for (const s of SETTINGS) {
    const value = s.flag ? flags[s.flag] : undefined;
    if (value === undefined || s.path === undefined) continue;
    // parseArgs gives a boolean flag `true`, a repeatable one an array, the others a string.
    if (typeof value === 'boolean' || Array.isArray(value)) set(raw, s.path, value);
    else set(raw, s.path, coerce(s, value));
    sources.set(s.path, { kind: 'flag', name: `--${s.flag}` });
  }
}

/**
 * A loaded configuration with the flags of `flags` applied over it, validated again (rules across
 * fields included). For callers that hold a configuration and parse more flags (the HTTP transport's).
 */
export function withFlags(config: QindexConfig, flags: FlagValues): QindexConfig {
  const before = origins.get(config) ?? origins.get(config.q);
  const sources = new Map(before);
  const raw = structuredClone(config) as Record<string, unknown>;
  applyFlagValues(raw, sources, flags);
  const file = [...sources.values()].find((v) => v.kind === 'file');
  const filePath = file?.kind === 'file' ? file.file : 'the configuration file';
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw configError(parsed.error.issues, { raw, sources, file: filePath, filePath });
  remember(parsed.data, sources);
  return parsed.data;
}

/**
 * Where a loaded configuration's values came from, for errors found only when a value is used (a Q
 * application id that does not exist). Also kept under the q section: copies such as `{...config, http}`
 * share it.
 */
const origins = new WeakMap<object, Map<string, ValueSource>>();

function remember(config: QindexConfig, sources: Map<string, ValueSource>): void {
  origins.set(config, sources);
  origins.set(config.q, sources);
}

/** Where `path` (e.g. `q.applicationId`) of a configuration loadConfig returned was set; undefined if unknown. */
export function sourceOf(config: Pick<QindexConfig, 'q'>, path: string): ValueSource | undefined {
  return (origins.get(config) ?? origins.get(config.q))?.get(path);
}

async function readConfigFile(path: string, explicit: boolean): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !explicit) return undefined;
    throw new QindexError(
      ErrorCode.ConfigInvalid,
      code === 'ENOENT'
        ? `Configuration file ${path} does not exist.`
        : `Configuration file ${path} cannot be read (${code ?? String(e)}).`,
      { remedy: 'Check the path given with --config or QINDEX_CONFIG.', cause: e },
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new QindexError(
      ErrorCode.ConfigInvalid,
      `Configuration file ${path} is not valid JSON${jsonPosition(text, e)}: ${(e as Error).message}.`,
      { remedy: 'Fix the JSON syntax (an editor with the published JSON Schema helps).', cause: e },
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new QindexError(ErrorCode.ConfigInvalid, `Configuration file ${path} must hold a JSON object.`, {
      remedy: 'Start the file with { and name the fields in docs/configuration.md.',
    });
  }
  return data as Record<string, unknown>;
}

/** " at line L, column C" from the position V8 reports, when it reports one. */
function jsonPosition(text: string, e: unknown): string {
  const m = /position (\d+)/.exec((e as Error).message);
  const pos = m ? Number(m[1]) : /end of JSON input/.test((e as Error).message) ? text.length : undefined;
  if (pos === undefined) return '';
  const before = text.slice(0, pos).split('\n');
  return ` at line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

function setFrom(
  raw: Record<string, unknown>,
  sources: Map<string, ValueSource>,
  s: Setting,
  value: string,
  source: ValueSource,
): void {
  if (s.path === undefined) return; // read where it is used (the config file's path, the refresh token)
  set(raw, s.path, coerce(s, value));
  sources.set(s.path, source);
}

/** A variable's or flag's text as the field's type; text that is not one is left for zod to name. */
function coerce(s: Setting, value: string): unknown {
  if (s.kind === 'number') return /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  if (s.kind === 'list') return value.split(/[\s,]+/).filter(Boolean);
  if (s.kind === 'boolean')
    return /^(true|1)$/i.test(value) ? true : /^(false|0)$/i.test(value) ? false : value;
  return value;
}

/**
 * When a variable or flag switches the mode type away from the file's, the file's fields for the old
 * mode would be rejected as unknown; drop those the new mode does not have.
 */
function dropFieldsOfReplacedMode(
  raw: Record<string, unknown>,
  sources: Map<string, ValueSource>,
  fileModeType: unknown,
): void {
  const mode = raw.mode as Record<string, unknown> | undefined;
  if (!mode || fileModeType === undefined || mode.type === fileModeType) return;
  const option = ModeSchema.options.find((o) => o.shape.type.value === mode.type);
  if (!option) return;
  for (const key of Object.keys(mode)) {
    if (!(key in option.shape) && sources.get(`mode.${key}`)?.kind === 'file') {
      delete mode[key];
      sources.delete(`mode.${key}`);
    }
  }
}

interface Where {
  raw: Record<string, unknown>;
  sources: Map<string, ValueSource>;
  file: string | undefined;
  filePath: string;
}

function configError(issues: z.core.$ZodIssue[], where: Where): QindexError {
  const lines = issues.flatMap((i) => describeIssue(i, where));
  return new QindexError(
    ErrorCode.ConfigInvalid,
    `Invalid configuration:\n${lines.map((l) => `  - ${l}`).join('\n')}`,
    {
      remedy: `Fix the fields named above (precedence: flags > environment variables > ${where.filePath} > defaults; docs/configuration.md lists every field).`,
    },
  );
}

function describeIssue(issue: z.core.$ZodIssue, where: Where): string[] {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => {
      const p = path ? `${path}.${k}` : k;
      return `${p}${sourceText(where.sources.get(p) ?? where.sources.get(path))} is not a known field`;
    });
  }
  const value = get(where.raw, path);
  const setting = SETTINGS.find((s) => s.path === path);
  // A rule across fields (rules.ts) explains itself; a field's own check says what it expects.
  const rule = issue.code === 'custom' && issue.params?.[RULE] === true;
  if (value === undefined) {
    const ways = [`set "${path}" in ${where.filePath}`];
    if (setting?.env) ways.push(`set ${setting.env}`);
    if (setting?.flag) ways.push(`pass --${setting.flag}`);
    const what = rule ? issue.message : `expected ${expected(issue)}`;
    return [`${path} is missing: ${what}; ${ways.join(', or ')}`];
  }
  const shown = setting?.secret ? '(hidden)' : show(value);
  const source = sourceText(where.sources.get(path));
  if (rule) return [`${path}${source} is ${shown}: ${issue.message}`];
  return [`${path}${source}: expected ${expected(issue)}, got ${shown}`];
}

function expected(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'object' ? 'an object' : `a ${issue.expected}`;
    case 'invalid_format':
      return issue.format === 'url' ? 'a URL such as https://idp.example.com' : issue.message;
    case 'invalid_value':
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      return 'options' in issue && Array.isArray(issue.options)
        ? `one of ${(issue.options as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
        : issue.message;
    default:
      return issue.message;
  }
}

/** " (in <file>)", " (from environment variable X)", " (from flag --x)", or "" for an unknown source. */
export function sourceText(source: ValueSource | undefined): string {
  if (!source) return '';
  if (source.kind === 'file') return ` (in ${source.file})`;
  if (source.kind === 'env') return ` (from environment variable ${source.name})`;
  return ` (from flag ${source.name})`;
}

function show(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function recordLeaves(obj: unknown, prefix: string, source: ValueSource, into: Map<string, ValueSource>) {
  if (typeof obj === 'object' && obj !== null && !Array.isArray(obj)) {
    for (const [k, v] of Object.entries(obj)) recordLeaves(v, prefix ? `${prefix}.${k}` : k, source, into);
    if (prefix) into.set(prefix, source);
  } else if (prefix) into.set(prefix, source);
}

function get(obj: Record<string, unknown>, path: string): unknown {
  if (!path) return obj;
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function set(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    const next = cur[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[part] = {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
