/**
 * @module JSON-RPC fuzz cases: tools/call with arguments generated from each tool's published input schema,
 * other MCP methods and unknown ones, broken envelopes and ids, batches, text that is not JSON, invalid
 * UTF-8 and lone surrogates, deep nesting (attributeFilter chains among them), huge lines, bursts of
 * concurrent calls and cancelled calls. A case is a small plain value fast-check can shrink; the bytes are
 * built at send time with fresh request ids (so replaying a case never collides with an earlier id).
 *
 * What a case should get back is not taken from the case but classified from the bytes, the way the
 * server's own reader sees them (JSON.parse, then the SDK's parseJSONRPCMessage): a valid request gets
 * exactly one response with its id, a notification or a response gets none, and a line that is not a
 * valid message (or is over the line limit) gets exactly one error, with its id or with none.
 */
import fc from 'fast-check';
import { parseJSONRPCMessage } from '@modelcontextprotocol/client';
import { arbitraryFor, deepValue, type JsonSchema, type SchemaArbOptions } from './schema-arb.js';

export interface ToolSchema {
  name: string;
  inputSchema: JsonSchema;
}

/** How a tracked request id is spelled (all unique per send). */
export type IdStyle = 'int' | 'negative' | 'string' | 'unicode' | 'long' | 'exp' | 'big';
/** Ids JSON-RPC forbids (or this server cannot echo): the line is invalid. */
/** Infinity stands for the literal 1e400 (a number JSON can write but no double can hold). */
const BAD_IDS: unknown[] = [null, true, false, {}, [], [1], 1.5, -0.25, { id: 1 }, Infinity];

export type IdSpec = { style: IdStyle } | { bad: number };

export type Msg =
  | {
      t: 'request';
      id: IdSpec;
      method: string;
      params?: unknown;
      /** Envelope damage: a wrong jsonrpc, an extra member, params of a wrong type. */
      envelope?: Envelope;
      /** Sent as a 2026-07-28 request: the per-request `_meta` envelope in its params. */
      era?: '2026';
    }
  | { t: 'notification'; method: string; params?: unknown; envelope?: Envelope }
  | { t: 'response'; id: IdSpec; result?: unknown; error?: unknown }
  | { t: 'json'; value: unknown };

export type Envelope =
  | { jsonrpc: unknown }
  | { dropJsonrpc: true }
  | { extra: string }
  | { params: unknown }
  | { method: unknown };

export type Payload =
  | { k: 'msg'; msg: Msg }
  | { k: 'batch'; items: Msg[] }
  | { k: 'raw'; text: string }
  | { k: 'bytes'; bytes: number[] }
  | { k: 'truncated'; msg: Msg; cut: number }
  | { k: 'utf8'; msg: Msg; damage: Utf8Damage; at: number }
  | { k: 'surrogate'; tool: string; field: string; unit: string }
  | {
      k: 'deep';
      shape: 'array' | 'object' | 'params' | 'filter' | 'filter-array';
      depth: number;
      tool: string;
    }
  | { k: 'huge'; mib: number; shape: 'query' | 'string-param' | 'array' | 'whitespace' }
  | { k: 'burst'; n: number; msg: Msg }
  | { k: 'cancel'; msg: Msg; reason: string }
  | { k: 'dupkeys'; tool: string };

export type Utf8Damage = 'invalid-byte' | 'cesu-surrogate' | 'overlong' | 'bom' | 'truncated-seq' | 'nul';

/** Allocates the ids of one send; every id is new for the whole run. */
export class IdAllocator {
  private n = 1_000_000;
  next(style: IdStyle): string {
    const n = this.n++;
    switch (style) {
      case 'int':
        return String(n);
      case 'negative':
        return String(-n);
      case 'string':
        return JSON.stringify(`f-${n}`);
      case 'unicode':
        return JSON.stringify(`ü-${n}-\u{1F600}\u2028`);
      case 'long':
        return JSON.stringify(`${'L'.repeat(2000)}-${n}`);
      case 'exp':
        return `${n}e0`;
      case 'big':
        // 2^53 + 2n: exact in a double, beyond the safe integers.
        return String(2 ** 53 + 2 * n);
    }
  }
}

const KNOWN_METHODS = [
  'ping',
  'tools/list',
  'initialize',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'prompts/list',
  'prompts/get',
  'logging/setLevel',
  'completion/complete',
  'tasks/get',
  'tasks/list',
  'sampling/createMessage',
  'roots/list',
];
const NOTIFICATIONS = [
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/message',
];
const WEIRD_METHODS = [
  '',
  ' ',
  '__proto__',
  'constructor',
  'toString',
  'tools/call/',
  'TOOLS/CALL',
  'rpc.discover',
];

const smallJson = fc.jsonValue({ maxDepth: 2 });
const idSpec: fc.Arbitrary<IdSpec> = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom<IdStyle>('int', 'string').map((style) => ({ style })) },
  {
    weight: 4,
    arbitrary: fc
      .constantFrom<IdStyle>('negative', 'unicode', 'long', 'exp', 'big')
      .map((style) => ({ style })),
  },
  { weight: 2, arbitrary: fc.nat({ max: BAD_IDS.length - 1 }).map((bad) => ({ bad })) },
);

const envelope: fc.Arbitrary<Envelope> = fc.oneof(
  fc.constantFrom<unknown>('1.0', 2.0, '2.0 ', null, '', 2).map((jsonrpc) => ({ jsonrpc })),
  fc.constant({ dropJsonrpc: true as const }),
  fc.constantFrom('result', 'error', 'extra', '__proto__', 'ID', 'params2').map((extra) => ({ extra })),
  fc.constantFrom<unknown>([], [1, 2], 'text', 5, null, true).map((params) => ({ params })),
  fc.constantFrom<unknown>(5, null, ['ping'], { m: 1 }, true).map((method) => ({ method })),
);

export interface CaseArbitraries {
  payload: fc.Arbitrary<Payload>;
  /** Only the messages (for HTTP bodies and bursts). */
  msg: fc.Arbitrary<Msg>;
  toolCall: fc.Arbitrary<Msg>;
}

export interface CaseWeights {
  /** Weight of `huge` cases against about 680 for all the others (each is several MiB; keep it small). */
  huge?: number;
  /** Weight of deep nesting cases (default 30 of about 680). */
  deep?: number;
}

export function caseArbitraries(
  tools: ToolSchema[],
  schemaOptions: SchemaArbOptions,
  weights: CaseWeights = {},
): CaseArbitraries {
  const names = tools.map((t) => t.name);
  const argsFor = new Map(tools.map((t) => [t.name, arbitraryFor(t.inputSchema, schemaOptions)]));
  const toolArgs = fc.oneof(
    ...tools.map((t) =>
      fc.tuple(fc.constant(t.name), argsFor.get(t.name)!).map(([name, args]) => ({ name, arguments: args })),
    ),
  );
  // Whole-arguments damage (arguments as an array, a string, missing) and unknown tool names.
  const badToolParams = fc.oneof(
    fc
      .tuple(fc.constantFrom(...names), fc.constantFrom<unknown>([], ['q'], 'query', 42, null, true))
      .map(([name, args]) => ({ name, arguments: args })),
    fc.constantFrom(...names).map((name) => ({ name })),
    fc
      .tuple(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom<unknown>(5, null, [], {})), smallJson)
      .map(([name, args]) => ({ name, arguments: args })),
    fc.constant({ arguments: { query: 'x' } }),
  );
  const meta = fc.oneof(
    fc.constant(undefined),
    fc.record({ progressToken: fc.oneof(fc.string({ maxLength: 8 }), fc.integer()) }),
    fc.record({ progressToken: smallJson }),
  );
  const toolParams = fc
    .tuple(fc.oneof({ weight: 6, arbitrary: toolArgs }, { weight: 1, arbitrary: badToolParams }), meta)
    .map(([p, m]) => (m === undefined ? p : { ...p, _meta: m }));

  // A fifth of the requests speak the 2026-07-28 revision (per-request envelope, no initialize needed).
  const withEra = (a: fc.Arbitrary<Msg>): fc.Arbitrary<Msg> =>
    fc
      .tuple(a, fc.nat({ max: 4 }))
      .map(([m, r]) => (r === 0 && m.t === 'request' ? { ...m, era: '2026' } : m));
  const toolCall: fc.Arbitrary<Msg> = withEra(
    fc.tuple(idSpec, toolParams).map(([id, params]) => ({ t: 'request', id, method: 'tools/call', params })),
  );
  const otherParams = fc.oneof(
    fc.constant(undefined),
    smallJson.filter((v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
    fc.record({ level: fc.constantFrom('debug', 'info', 'emergency', 'verbose', 5) }),
    fc.record({
      protocolVersion: fc.constantFrom('2025-06-18', '2024-11-05', '1999-01-01', ''),
      capabilities: fc.constant({}),
      clientInfo: fc.record({ name: fc.string({ maxLength: 5 }), version: fc.constant('1') }),
    }),
    fc.record({ uri: fc.string({ maxLength: 30 }) }),
    fc.record({ cursor: fc.string({ maxLength: 30 }) }),
  );
  const method = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...KNOWN_METHODS) },
    { weight: 2, arbitrary: fc.constantFrom(...WEIRD_METHODS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  );
  const otherRequest: fc.Arbitrary<Msg> = withEra(
    fc.tuple(idSpec, method, otherParams).map(([id, m, params]) => ({
      t: 'request',
      id,
      method: m,
      ...(params === undefined ? {} : { params }),
    })),
  );
  const notification: fc.Arbitrary<Msg> = fc
    .tuple(
      fc.oneof(fc.constantFrom(...NOTIFICATIONS), fc.string({ maxLength: 20 })),
      fc.oneof(
        fc.constant(undefined),
        fc.record({ requestId: fc.oneof(fc.integer(), fc.string({ maxLength: 8 })), reason: fc.string() }),
        fc.record({ progressToken: fc.integer(), progress: fc.double() }),
      ),
    )
    .map(([m, params]) => ({ t: 'notification', method: m, ...(params === undefined ? {} : { params }) }));
  const response: fc.Arbitrary<Msg> = fc
    .tuple(
      idSpec,
      fc.oneof(
        fc.record({ result: smallJson }),
        fc.record({ error: fc.record({ code: fc.integer(), message: fc.string({ maxLength: 10 }) }) }),
      ),
    )
    .map(([id, body]) => ({ t: 'response', id, ...body }));
  const damaged: fc.Arbitrary<Msg> = fc
    .tuple(fc.oneof(toolCall, otherRequest, notification), envelope)
    .map(([m, e]) => (m.t === 'request' || m.t === 'notification' ? { ...m, envelope: e } : m));
  const anyJson: fc.Arbitrary<Msg> = fc.jsonValue({ maxDepth: 3 }).map((value) => ({ t: 'json', value }));

  const msg: fc.Arbitrary<Msg> = fc.oneof(
    { weight: 12, arbitrary: toolCall },
    { weight: 4, arbitrary: otherRequest },
    { weight: 2, arbitrary: notification },
    { weight: 1, arbitrary: response },
    { weight: 3, arbitrary: damaged },
    { weight: 1, arbitrary: anyJson },
  );

  const rawText = fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 100 }),
    fc.constantFrom(
      '',
      ' ',
      '\t',
      '\r',
      'null',
      'true',
      '0',
      '"str"',
      '[]',
      '{}',
      '[[]]',
      '{"jsonrpc":"2.0"}',
      '{"jsonrpc":"2.0","id":1}',
      '{"jsonrpc":"2.0","method":"ping","id":',
      '{"a":1}{"b":2}',
      '{"jsonrpc":"2.0","id":1,"method":"ping"} trailing',
      '\u0000',
      'NaN',
      '-Infinity',
      '{"__proto__":{"polluted":true}}',
      'a\nb\nc',
      '{\n"jsonrpc":"2.0"}',
    ),
  );
  const tool = fc.constantFrom(...names);
  const stringFields = [
    ['search_relevant_content', 'query'],
    ['search_relevant_content', 'nextToken'],
    ['get_document', 'documentId'],
    ['get_document', 'dataSourceId'],
    ['get_conversation', 'conversationId'],
    ['list_conversations', 'nextToken'],
    ['chat', 'message'],
    ['chat', 'conversationId'],
    ['put_feedback', 'comment'],
  ].filter(([t]) => names.includes(t!));

  const payload: fc.Arbitrary<Payload> = fc.oneof(
    { weight: 400, arbitrary: msg.map((m) => ({ k: 'msg' as const, msg: m })) },
    {
      weight: 40,
      arbitrary: fc
        .array(msg, { minLength: 0, maxLength: 12 })
        .map((items) => ({ k: 'batch' as const, items })),
    },
    { weight: 40, arbitrary: rawText.map((text) => ({ k: 'raw' as const, text })) },
    {
      weight: 20,
      arbitrary: fc
        .array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 })
        .map((bytes) => ({ k: 'bytes' as const, bytes })),
    },
    {
      weight: 20,
      arbitrary: fc
        .tuple(msg, fc.double({ min: 0, max: 1, noNaN: true }))
        .map(([m, cut]) => ({ k: 'truncated' as const, msg: m, cut })),
    },
    {
      weight: 30,
      arbitrary: fc
        .tuple(
          toolCall,
          fc.constantFrom<Utf8Damage>(
            'invalid-byte',
            'cesu-surrogate',
            'overlong',
            'bom',
            'truncated-seq',
            'nul',
          ),
          fc.double({ min: 0, max: 1, noNaN: true }),
        )
        .map(([m, damage, at]) => ({ k: 'utf8' as const, msg: m, damage, at })),
    },
    ...(stringFields.length
      ? [
          {
            weight: 30,
            arbitrary: fc
              .tuple(
                fc.constantFrom(...stringFields),
                fc.constantFrom('\uD800', '\uDFFF', 'abc\uD83D', '\uDE00x', '\uDBFF\uDBFF', 'ok\uD800ok'),
              )
              .map(([[t, field], unit]) => ({ k: 'surrogate' as const, tool: t!, field: field!, unit })),
          },
        ]
      : []),
    {
      weight: weights.deep ?? 30,
      arbitrary: fc
        .tuple(
          fc.constantFrom<'array' | 'object' | 'params' | 'filter' | 'filter-array'>(
            'filter',
            'filter',
            'filter-array',
            'array',
            'object',
            'params',
          ),
          fc.oneof(
            { weight: 40, arbitrary: fc.integer({ min: 1, max: 64 }) },
            { weight: 30, arbitrary: fc.integer({ min: 65, max: 4000 }) },
            { weight: 10, arbitrary: fc.integer({ min: 4001, max: 100_000 }) },
          ),
          fc.constantFrom(...names.filter((n) => n === 'search_relevant_content' || n === 'chat')),
        )
        .map(([shape, depth, t]) => ({ k: 'deep' as const, shape, depth, tool: t })),
    },
    ...((weights.huge ?? 1) > 0
      ? [
          {
            weight: weights.huge ?? 1,
            arbitrary: fc
              .tuple(
                // Clear of the 10 MiB line limit by more than a pipe chunk either side (see classify()).
                fc.constantFrom(1, 4, 9.5, 10.5, 12),
                fc.constantFrom<'query' | 'string-param' | 'array' | 'whitespace'>(
                  'query',
                  'string-param',
                  'array',
                  'whitespace',
                ),
              )
              .map(([mib, shape]) => ({ k: 'huge' as const, mib, shape })),
          },
        ]
      : []),
    {
      weight: 20,
      arbitrary: fc
        .tuple(fc.integer({ min: 2, max: 24 }), toolCall)
        .map(([n, m]) => ({ k: 'burst' as const, n, msg: m })),
    },
    {
      weight: 20,
      arbitrary: fc
        .tuple(toolCall, fc.string({ maxLength: 20 }))
        .map(([m, reason]) => ({ k: 'cancel' as const, msg: m, reason })),
    },
    { weight: 10, arbitrary: tool.map((t) => ({ k: 'dupkeys' as const, tool: t })) },
  );
  return { payload, msg, toolCall };
}

// ---------------------------------------------------------------------------------------------------------
// Building bytes

/** JSON text of a message with its ids allocated now. */
export function msgText(m: Msg, ids: IdAllocator, forcedId?: string): string {
  const id = (spec: IdSpec) =>
    forcedId ?? ('style' in spec ? ids.next(spec.style) : JSON.stringify(BAD_IDS[spec.bad] ?? null));
  if (m.t === 'json') return JSON.stringify(m.value) ?? 'null';
  const members: string[] = [];
  const env = 'envelope' in m ? m.envelope : undefined;
  if (!(env && 'dropJsonrpc' in env)) {
    members.push(`"jsonrpc":${JSON.stringify(env && 'jsonrpc' in env ? env.jsonrpc : '2.0') ?? 'null'}`);
  }
  if (m.t === 'request' || m.t === 'response') {
    // JSON.stringify cannot write 1e400: write the literal so the server's parser meets it.
    const raw = !forcedId && 'bad' in m.id && BAD_IDS[m.id.bad] === Infinity ? '1e400' : id(m.id);
    members.push(`"id":${raw}`);
  }
  if (m.t === 'request' || m.t === 'notification') {
    const method = env && 'method' in env ? env.method : m.method;
    members.push(`"method":${JSON.stringify(method) ?? 'null'}`);
    let params = env && 'params' in env ? env.params : m.params;
    if (m.t === 'request' && m.era === '2026') params = withEnvelope(params);
    if (params !== undefined) members.push(`"params":${JSON.stringify(params)}`);
  }
  if (m.t === 'response') {
    if (m.result !== undefined) members.push(`"result":${JSON.stringify(m.result)}`);
    if (m.error !== undefined) members.push(`"error":${JSON.stringify(m.error)}`);
  }
  if (env && 'extra' in env) members.push(`${JSON.stringify(env.extra)}:1`);
  return `{${members.join(',')}}`;
}

/** What a send consists of: one or more bodies (stdio: lines; HTTP: request bodies) and how to write. */
export interface Built {
  /** Each is one stdio line (without its newline) or one HTTP body. */
  units: Buffer[];
  /** Cancel: the request to cancel (its id text) follows the unit. */
  cancels?: string[];
  /** Write the units in small pieces (a line split across writes). */
  split?: number;
}

const enc = (s: string) => Buffer.from(s, 'utf8');

export function build(p: Payload, ids: IdAllocator, tools: ToolSchema[]): Built {
  switch (p.k) {
    case 'msg':
      return { units: [enc(msgText(p.msg, ids))] };
    case 'batch':
      return { units: [enc(`[${p.items.map((m) => msgText(m, ids)).join(',')}]`)] };
    case 'raw':
      return { units: [enc(p.text)] };
    case 'bytes':
      return { units: [Buffer.from(p.bytes)] };
    case 'truncated': {
      const full = enc(msgText(p.msg, ids));
      return { units: [full.subarray(0, Math.floor(full.length * p.cut))] };
    }
    case 'utf8':
      return { units: [damageUtf8(enc(msgText(p.msg, ids)), p.damage, p.at)] };
    case 'surrogate': {
      // JSON.stringify writes a lone surrogate as a \uXXXX escape: valid JSON, an invalid Unicode string.
      const base = { query: 'vpn', message: 'hi', documentId: 'doc', conversationId: 'c'.repeat(36) };
      const required = requiredOf(tools, p.tool);
      const args: Record<string, unknown> = {};
      for (const r of required) args[r] = base[r as keyof typeof base] ?? 'x';
      if (p.tool === 'put_feedback') Object.assign(args, { messageId: 'm'.repeat(36), usefulness: 'USEFUL' });
      args[p.field] = p.unit;
      return { units: [enc(requestText(ids, 'tools/call', { name: p.tool, arguments: args }))] };
    }
    case 'deep':
      return { units: [enc(deepText(p, ids, tools))] };
    case 'huge':
      return { units: [hugeLine(p, ids)], split: 65_536 };
    case 'burst': {
      const units: Buffer[] = [];
      for (let i = 0; i < p.n; i++) units.push(enc(msgText(p.msg, ids)));
      return { units };
    }
    case 'cancel': {
      const id = ids.next('int');
      const m = p.msg.t === 'request' ? { ...p.msg, envelope: undefined } : p.msg;
      return { units: [enc(msgText(m, ids, id))], cancels: [id] };
    }
    case 'dupkeys':
      // Duplicate members: JSON.parse keeps the last one, a different parser might not.
      return {
        units: [
          enc(
            `{"jsonrpc":"2.0","id":${ids.next('int')},"method":"tools/call","method":"tools/call","params":{"name":"whoami","name":${JSON.stringify(p.tool)},"arguments":{}}}`,
          ),
        ],
      };
  }
}

/** The 2026-07-28 per-request envelope (what `initialize` said once, said on every request). */
export const ENVELOPE_2026 = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'qindex-fuzz', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/** `params` with the envelope merged into its `_meta` (params that are not an object stay as they are). */
function withEnvelope(params: unknown): unknown {
  if (params === undefined) return { _meta: ENVELOPE_2026 };
  if (typeof params !== 'object' || params === null || Array.isArray(params)) return params;
  const p = params as Record<string, unknown>;
  const meta = typeof p._meta === 'object' && p._meta !== null && !Array.isArray(p._meta) ? p._meta : {};
  return { ...p, _meta: { ...meta, ...ENVELOPE_2026 } };
}

export function requestText(ids: IdAllocator, method: string, params: unknown): string {
  return `{"jsonrpc":"2.0","id":${ids.next('int')},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`;
}

function requiredOf(tools: ToolSchema[], name: string): string[] {
  return tools.find((t) => t.name === name)?.inputSchema.required ?? [];
}

function deepText(p: Extract<Payload, { k: 'deep' }>, ids: IdAllocator, tools: ToolSchema[]): string {
  const id = ids.next('int');
  const head = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":`;
  if (p.shape === 'array')
    return `${head}{"name":"whoami","arguments":{"x":${'['.repeat(p.depth)}${']'.repeat(p.depth)}}}}`;
  if (p.shape === 'object')
    return `${head}{"name":"whoami","arguments":{"x":${'{"a":'.repeat(p.depth)}1${'}'.repeat(p.depth)}}}}`;
  if (p.shape === 'params')
    return `{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"d":${'['.repeat(p.depth)}${']'.repeat(p.depth)}}}`;
  const schema = tools.find((t) => t.name === p.tool)?.inputSchema;
  const deep = schema ? deepValue(schema, 1, p.shape === 'filter-array' ? 'array' : 'single') : undefined;
  if (!schema || !deep) return `${head}{"name":${JSON.stringify(p.tool)},"arguments":{}}}`;
  // Built as text: a 100,000-deep object would overflow JSON.stringify in this process too.
  const { prop, value } = deep as { prop: string; value: Record<string, unknown> };
  const key = Object.keys(value)[0]!;
  const inner = JSON.stringify(value[key]);
  const isArray = Array.isArray(value[key]);
  const leaf = isArray ? JSON.stringify((value[key] as unknown[])[0]) : inner;
  const open = isArray ? `{"${key}":[` : `{"${key}":`;
  const close = isArray ? ']}' : '}';
  const filter = `${open.repeat(p.depth)}${leaf}${close.repeat(p.depth)}`;
  const base = p.tool === 'chat' ? '"message":"vpn"' : '"query":"vpn"';
  return `${head}{"name":${JSON.stringify(p.tool)},"arguments":{${base},${JSON.stringify(prop)}:${filter}}}}`;
}

function hugeLine(p: Extract<Payload, { k: 'huge' }>, ids: IdAllocator): Buffer {
  const size = Math.floor(p.mib * 1024 * 1024);
  const id = ids.next('int');
  if (p.shape === 'whitespace') return Buffer.alloc(size, ' ');
  if (p.shape === 'array') {
    const n = Math.floor(size / 2);
    return enc(`{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"a":[${'0,'.repeat(n - 1)}0]}}`);
  }
  const filler = 'q'.repeat(size);
  return p.shape === 'query'
    ? enc(
        `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"search_relevant_content","arguments":{"query":"${filler}"}}}`,
      )
    : enc(`{"jsonrpc":"2.0","id":${id},"method":"ping","params":{"s":"${filler}"}}`);
}

function damageUtf8(buf: Buffer, damage: Utf8Damage, at: number): Buffer {
  // Damage inside a JSON string where possible (after the first quote past `at`), so the line still parses.
  const start = Math.floor(buf.length * at);
  let i = buf.indexOf(0x22, start);
  if (i < 0) i = buf.indexOf(0x22);
  const pos = i < 0 ? start : i + 1;
  const bytes: Record<Utf8Damage, number[]> = {
    'invalid-byte': [0xff],
    'cesu-surrogate': [0xed, 0xa0, 0x80],
    overlong: [0xc0, 0xaf],
    bom: [0xef, 0xbb, 0xbf],
    'truncated-seq': [0xe2, 0x82],
    nul: [0x00],
  };
  if (damage === 'bom') return Buffer.concat([Buffer.from(bytes.bom), buf]);
  return Buffer.concat([buf.subarray(0, pos), Buffer.from(bytes[damage]), buf.subarray(pos)]);
}

// ---------------------------------------------------------------------------------------------------------
// What the server should answer

/** The answer one unit (a stdio line or an HTTP body) should get. */
export type Expect =
  /** A valid request: exactly one response with this id. */
  | { kind: 'request'; id: string | number; method: string }
  /** A notification or a response: nothing. */
  | { kind: 'silent' }
  /** Not a valid message (or over the limit): exactly one error, with one of `ids` or with none. */
  | { kind: 'error'; ids: Array<string | number> }
  /** A batch: refused with one error, or each valid request answered (a served batch). */
  | { kind: 'batch'; requests: Array<string | number>; invalid: number; ids: Array<string | number> }
  /** A cancelled request: at most one response. */
  | { kind: 'maybe'; id: string | number };

export const STDIO_LINE_LIMIT = 10 * 1024 * 1024;

export function classify(unit: Buffer, limit = STDIO_LINE_LIMIT): Expect {
  if (unit.length > limit) return { kind: 'error', ids: idsIn(unit) };
  let value: unknown;
  try {
    value = JSON.parse(unit.toString('utf8').replace(/\r$/, ''));
  } catch {
    return { kind: 'error', ids: [] };
  }
  if (Array.isArray(value)) {
    const requests: Array<string | number> = [];
    let invalid = 0;
    for (const item of value) {
      const c = classifyValue(item);
      if (c.kind === 'request') requests.push(c.id);
      else if (c.kind === 'error') invalid++;
    }
    const ids = value.flatMap((v) => (isObj(v) && isId(v.id) ? [v.id] : []));
    return { kind: 'batch', requests, invalid, ids };
  }
  return classifyValue(value);
}

/** `value` as the SDK's JSON-RPC message check (the server's reader) accepts it, or undefined. */
export function jsonRpcMessage(value: unknown): Record<string, unknown> | undefined {
  try {
    return parseJSONRPCMessage(value) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function classifyValue(value: unknown): Expect {
  const m = jsonRpcMessage(value);
  const id = isObj(value) && isId(value.id) ? [value.id] : [];
  if (!m) return { kind: 'error', ids: id };
  if ('method' in m && 'id' in m)
    return { kind: 'request', id: m.id as string | number, method: String(m.method) };
  return { kind: 'silent' };
}

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
// JSON-RPC ids are strings or numbers; fractional ones are discouraged (SHOULD NOT), not invalid, so an
// answer may carry one back even when the SDK refuses the message itself.
const isId = (v: unknown): v is string | number =>
  typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));

/** Ids near the start of an oversized line (its reader cannot parse it, but may find the id). */
function idsIn(unit: Buffer): Array<string | number> {
  const m = /"id":(-?\d+|"[^"]*")/.exec(unit.subarray(0, 256).toString('utf8'));
  if (!m) return [];
  return [JSON.parse(m[1]!) as string | number];
}

/**
 * An answer that is a defect whatever the input: the product's own `internal` code, a stack overflow, a
 * URIError, or a tools/call refused with -32603 (a raw validation dump instead of -32602). Other methods'
 * -32603 answers come from the SDK's own parameter checks: counted, not failed.
 */
export function internalFailure(m: Record<string, unknown>, method: string | undefined): string | undefined {
  const error = m.error as { code?: number; message?: string } | undefined;
  const result = m.result as { isError?: boolean; content?: Array<{ text?: string }> } | undefined;
  const text = error
    ? `${error.code}: ${error.message}`
    : result?.isError
      ? (result.content?.[0]?.text ?? '')
      : '';
  if (/\(code: internal\)|URIError|Maximum call stack|RangeError/.test(text)) return text;
  if (error?.code === -32603 && method === 'tools/call') return text;
  return undefined;
}

/** Stable text for a response id (numbers and strings never collide). */
export const idKey = (id: unknown) => (typeof id === 'number' ? `n:${id}` : `s:${String(id)}`);
