/**
 * @module The HTTP target: the built server in bearer mode (its own process) and fuzz cases sent either
 * with fetch (well-formed requests, keep-alive) or as raw bytes over a fresh TCP connection (anything fetch
 * would refuse to send). Checks: exactly one HTTP response per complete request within the timeout; no 5xx
 * but 503; a JSON body parses, an event stream carries JSON events; in a 200 answer every request id of the
 * body is answered exactly once and nothing else is; no canary in any head or body; the process runs on.
 */
import { connect, type Socket } from 'node:net';
import type { Sandbox } from '../../tools/sandbox/index.js';
import { badTokens, signedToken } from '../../test/http/tokens.js';
import type { CanaryScanner } from './canary.js';
import {
  IdAllocator,
  build,
  classify,
  idKey,
  internalFailure,
  type Expect,
  type ToolSchema,
} from './jsonrpc-cases.js';
import {
  HANGUP_SHAPES,
  ODD_TARGETS,
  type AuthVariant,
  type HttpCase,
  type RawShape,
  type SessionVariant,
} from './http-cases.js';
import { spawnHttpServer, type HeapSample, type LogLevel, type ServerProcess } from './server-process.js';
import { Samples, emptyStats, type TargetStats, type Verdict } from './stdio-target.js';

export interface HttpUser {
  sub: string;
  email: string;
  token: string;
  session?: string;
}

export interface HttpStats extends TargetStats {
  byStatus: Record<string, number>;
  serverErrors: number;
  tokenRotations: number;
  sessionsOpened: number;
  /** Users whose every request got 429 (no session could be opened), replaced by new ones. */
  lockouts: number;
  /** Request slots still held after their client hung up. */
  leakedSlots: number;
  /** Requests the server refused while their body was still being sent (no answer readable, see raw()). */
  resetsWhileSending: number;
}

class LockedOut extends Error {
  constructor(
    readonly user: number,
    message: string,
  ) {
    super(message);
  }
}

export interface HttpTargetOptions {
  canaries: CanaryScanner;
  users?: number;
  logLevel?: LogLevel;
  timeoutMs?: number;
  limits?: Record<string, number>;
  nodeFlags?: string[];
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Its end was known from its framing (length, last chunk), not from the connection closing. */
  framed?: boolean;
}

/** A request as the harness means it; sent by fetch when fetch can say it, else as raw bytes. */
interface Req {
  method: string;
  target: string;
  headers: Array<[string, string]>;
  body?: Buffer;
}

export const MAX_BODY_BYTES = 1_048_576;

export class HttpTarget {
  readonly stats: HttpStats = {
    ...emptyStats(),
    byStatus: {},
    serverErrors: 0,
    tokenRotations: 0,
    sessionsOpened: 0,
    lockouts: 0,
    leakedSlots: 0,
    resetsWhileSending: 0,
  };
  readonly samples = new Samples();
  readonly users: HttpUser[] = [];
  private bad: Record<string, string> = {};
  /** Slots of each user found held after hang-ups (see slotProbe). */
  private readonly leaked = new Map<number, number>();
  private server: ServerProcess | undefined;
  private readonly ids = new IdAllocator();
  private hostHeader = '';
  private port = 0;
  tools: ToolSchema[] = [];

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: HttpTargetOptions,
  ) {}

  get process(): ServerProcess | undefined {
    return this.server;
  }

  get badTokenNames(): string[] {
    return Object.keys(this.bad);
  }

  /** Users are distinct subjects over the sandbox's IdC users (IdC matches them by email). */
  async init(): Promise<void> {
    const people = this.sandbox.world.users.filter((u) => u.inIdentityCenter);
    const n = this.options.users ?? 4;
    for (let i = 0; i < n; i++) {
      const person = people[i % people.length]!;
      const user = { sub: `fuzz-${person.username}-${i}`, email: person.email, token: '' };
      this.users.push(user);
      await this.mint(user);
    }
    this.bad = await badTokens(this.sandbox, this.users[0]!.sub);
    for (const [name, t] of Object.entries(this.bad)) this.options.canaries.add(`bad token (${name})`, t);
  }

  private async replace(u: number): Promise<void> {
    const old = this.users[u]!;
    this.stats.lockouts++;
    const user = {
      sub: `${old.sub.replace(/-r\d+$/, '')}-r${this.stats.lockouts}`,
      email: old.email,
      token: '',
    };
    await this.mint(user);
    this.users[u] = user;
    this.leaked.delete(u);
  }

  private async mint(user: HttpUser): Promise<void> {
    user.token = await signedToken(this.sandbox, {
      username: user.sub,
      claims: { email: user.email },
      ttlSeconds: 6 * 3600,
    });
    this.options.canaries.add(`bearer token of ${user.sub}`, user.token);
  }

  async ensure(): Promise<void> {
    if (this.server && !this.server.exit()) return;
    if (this.server) this.stats.restarts++;
    if (!this.users.length) await this.init();
    for (const u of this.users) delete u.session;
    this.server = await spawnHttpServer(this.sandbox, {
      canaries: this.options.canaries,
      ...(this.options.logLevel ? { logLevel: this.options.logLevel } : {}),
      limits: { maxSessionsPerUser: 4, ...this.options.limits },
      ...(this.options.nodeFlags ? { nodeFlags: this.options.nodeFlags } : {}),
    });
    const url = new URL(this.server.url);
    this.port = Number(url.port);
    this.hostHeader = url.host;
    if (!this.tools.length) {
      await this.session(0);
      const r = await this.call(0, 'tools/list', {});
      this.tools = (r as { tools: ToolSchema[] }).tools;
    }
  }

  /** The user's session, opened (initialize + initialized) when there is none. */
  async session(u: number, retry = true): Promise<string> {
    const user = this.users[u]!;
    if (user.session) return user.session;
    const res = await this.fetch({
      method: 'POST',
      target: '/mcp',
      headers: this.baseHeaders(user),
      body: Buffer.from(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'fuzz', version: '1' },
          },
        }),
      ),
    });
    const sid = res.headers['mcp-session-id'];
    if (res.status === 429 && retry) {
      // The slots of the case just answered may be released a moment after its last byte arrived.
      await new Promise((r) => setTimeout(r, 250));
      return this.session(u, false);
    }
    if (res.status !== 200 || !sid) {
      const message = `${user.sub} cannot open a session: initialize answered ${res.status}: ${res.body.slice(0, 300)}`;
      throw res.status === 429 ? new LockedOut(u, message) : new Error(message);
    }
    this.stats.sessionsOpened++;
    await this.fetch({
      method: 'POST',
      target: '/mcp',
      headers: [...this.baseHeaders(user), ['mcp-session-id', sid]],
      body: Buffer.from('{"jsonrpc":"2.0","method":"notifications/initialized"}'),
    });
    user.session = sid;
    return sid;
  }

  /** A well-formed call outside the fuzz accounting (setup, soak). */
  async call(u: number, method: string, params: unknown): Promise<unknown> {
    const user = this.users[u]!;
    const sid = await this.session(u);
    const id = this.ids.next('int');
    const res = await this.fetch({
      method: 'POST',
      target: '/mcp',
      headers: [...this.baseHeaders(user), ['mcp-session-id', sid]],
      // Ids unique per session: the transport routes an answer by its id, two pending 7s would collide.
      body: Buffer.from(
        `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)},"params":${JSON.stringify(params)}}`,
      ),
    });
    const msgs = messagesOf(res);
    const m = msgs.find((x) => x.id === Number(id));
    if (!m) throw new Error(`${method} answered ${res.status}: ${res.body.slice(0, 300)}`);
    if (m.error) throw new Error(`${method}: ${JSON.stringify(m.error)}`);
    return m.result;
  }

  private baseHeaders(user: HttpUser): Array<[string, string]> {
    return [
      ['authorization', `Bearer ${user.token}`],
      ['content-type', 'application/json'],
      ['accept', 'application/json, text/event-stream'],
    ];
  }

  private authValue(v: AuthVariant, user: HttpUser): string | undefined {
    const t = user.token;
    const other = this.users[(this.users.indexOf(user) + 1) % this.users.length]!.token;
    switch (v) {
      case 'good':
        return `Bearer ${t}`;
      case 'none':
        return undefined;
      case 'scheme-only':
        return 'Bearer';
      case 'scheme-space':
        return 'Bearer ';
      case 'two-spaces':
        return `Bearer  ${t}`;
      case 'lowercase':
        return `bearer ${t}`;
      case 'uppercase':
        return `BEARER ${t}`;
      case 'trailing-space':
        return `Bearer ${t} `;
      case 'leading-space':
        return ` Bearer ${t}`;
      case 'tab':
        return `Bearer\t${t}`;
      case 'suffix':
        return `Bearer ${t}x`;
      case 'doubled':
        return `Bearer ${t} ${t}`;
      case 'basic':
        return `Basic ${Buffer.from(`${user.sub}:${t}`).toString('base64')}`;
      case 'other-scheme':
        return `Token ${t}`;
      case 'other-user':
        return `Bearer ${other}`;
      case 'huge':
        return `Bearer ${'A'.repeat(9000)}.${'B'.repeat(9000)}.${'C'.repeat(100)}`;
      case 'comma-list':
        return `Bearer ${t}, Basic Zm9vOmJhcg==`;
      default:
        return `Bearer ${this.bad[v.slice(4)] ?? 'x'}`;
    }
  }

  private sessionValue(v: SessionVariant, u: number): string | undefined {
    const own = this.users[u]!.session;
    switch (v) {
      case 'own':
        return own;
      case 'none':
        return undefined;
      case 'bogus':
        return '00000000-0000-4000-8000-000000000000';
      case 'other-user':
        return this.users[(u + 1) % this.users.length]!.session ?? own;
      case 'empty':
        return '';
      case 'long':
        return 's'.repeat(5000);
      case 'spaces':
        return ` ${own ?? ''} `;
    }
  }

  /** Runs one case; `label` names it in reports. */
  async runCase(c: HttpCase, label: string): Promise<Verdict> {
    await this.ensure();
    const server = this.server!;
    this.stats.cases++;
    const problems: string[] = [];
    try {
      if (c.k === 'rpc') await this.rpcCase(c, problems);
      else if (c.k === 'burst') await this.burstCase(c, problems);
      else if (c.k === 'method') await this.methodCase(c, problems);
      else await this.rawCase(c, problems);
    } catch (e) {
      problems.push(`harness: ${(e as Error).message}`);
      // A user locked out for good (every request 429) is replaced by a new one, so the run goes on.
      if (e instanceof LockedOut) await this.replace(e.user);
    }
    const exit =
      server.exit() ??
      (await Promise.race([server.exited, new Promise<undefined>((r) => setImmediate(() => r(undefined)))]));
    if (exit) {
      this.stats.crashes++;
      problems.unshift(
        `server exited (code ${exit.code}, signal ${exit.signal}); stderr tail: ${server.stderrTail().slice(-1500)}`,
      );
      this.samples.add('crash', `${label}: ${server.stderrTail().slice(-800)}`);
    }
    if (problems.length)
      this.samples.add('failing case', `${label}: ${problems.join(' | ').slice(0, 500)}`, 20);
    return { ok: problems.length === 0, problems };
  }

  private async rpcCase(c: Extract<HttpCase, { k: 'rpc' }>, problems: string[]): Promise<void> {
    const user = this.users[c.user]!;
    if (!c.headers.some((h) => h.h === 'session' && h.v !== 'own')) await this.session(c.user);
    const built = build(c.payload, this.ids, this.tools);
    const reqs = built.units.map((body) => this.rpcRequest(c, body));
    const expects = built.units.map((u) => classify(u, MAX_BODY_BYTES));
    const answers = await Promise.all(reqs.map((r) => this.send(r, problems)));
    if (built.cancels?.length) {
      for (const id of built.cancels) {
        await this.send(
          this.rpcRequest(
            c,
            Buffer.from(
              `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":${id},"reason":"fuzz"}}`,
            ),
          ),
          problems,
        );
      }
    }
    answers.forEach((a, i) => a && this.checkRpc(a, expects[i]!, problems, !!built.cancels?.length));
    answers.forEach((a, i) => {
      // Not a failure by itself (429, an evicted session…), but a clean valid request refused is worth a look.
      if (a && a.status !== 200 && !c.headers.length && expects[i]!.kind === 'request') {
        this.samples.add(
          `clean request answered ${a.status}`,
          `${built.units[i]!.toString().slice(0, 200)} → ${a.body.slice(0, 200)}`,
        );
      }
    });
    const authClean = !c.headers.some((h) => h.h === 'auth');
    for (const a of answers) {
      if (!a) continue;
      if (a.status === 404 && !c.headers.some((h) => h.h === 'session')) delete user.session;
      if (a.status === 401 && authClean) await this.rotate(user);
    }
  }

  private async burstCase(c: Extract<HttpCase, { k: 'burst' }>, problems: string[]): Promise<void> {
    await this.session(c.user);
    const units = Array.from({ length: c.n }, () => build(c.payload, this.ids, this.tools).units[0]!);
    const answers = await Promise.all(
      units.map((u) =>
        this.send(this.rpcRequest({ k: 'rpc', payload: c.payload, user: c.user, headers: [] }, u), problems),
      ),
    );
    answers.forEach((a, i) => a && this.checkRpc(a, classify(units[i]!, MAX_BODY_BYTES), problems, false));
  }

  /** A token the IdC exchange refuses as used (after the credentials expire) is replaced, as a client would. */
  private async rotate(user: HttpUser): Promise<void> {
    this.stats.tokenRotations++;
    await this.mint(user);
  }

  private rpcRequest(c: Extract<HttpCase, { k: 'rpc' }>, body: Buffer): Req {
    const user = this.users[c.user]!;
    const headers = new Map<string, string | undefined>([
      ['authorization', `Bearer ${user.token}`],
      ['content-type', 'application/json'],
      ['accept', 'application/json, text/event-stream'],
      ['mcp-session-id', user.session],
    ]);
    let host: string | null | undefined;
    for (const h of c.headers) {
      if (h.h === 'accept') headers.set('accept', h.v ?? undefined);
      else if (h.h === 'content-type') headers.set('content-type', h.v ?? undefined);
      else if (h.h === 'auth') headers.set('authorization', this.authValue(h.v, user));
      else if (h.h === 'session') headers.set('mcp-session-id', this.sessionValue(h.v, c.user));
      else if (h.h === 'protocol') headers.set('mcp-protocol-version', h.v);
      else if (h.h === 'origin') headers.set('origin', h.v);
      else if (h.h === 'host') host = h.v;
      else headers.set(h.name, h.v);
    }
    // A 2026-07-28 request names its revision, method and tool in headers too (the SDK checks both agree).
    if (
      body.includes('"io.modelcontextprotocol/protocolVersion":"2026-07-28"') &&
      !c.headers.some((h) => h.h === 'protocol')
    ) {
      headers.set('mcp-protocol-version', '2026-07-28');
      const m = parsedMessage(body);
      if (typeof m?.method === 'string') headers.set('mcp-method', m.method);
      const name = (m?.params as { name?: unknown } | undefined)?.name;
      if (m?.method === 'tools/call' && typeof name === 'string') headers.set('mcp-name', name);
    }
    const list = [...headers].filter((e): e is [string, string] => e[1] !== undefined);
    if (host !== undefined) list.push(['host', host ?? '']);
    return { method: 'POST', target: '/mcp', headers: list, body };
  }

  private async methodCase(c: Extract<HttpCase, { k: 'method' }>, problems: string[]): Promise<void> {
    const user = this.users[c.user]!;
    await this.session(c.user);
    const sid = this.sessionValue(c.session, c.user);
    const headers: Array<[string, string]> = [
      ['authorization', `Bearer ${user.token}`],
      ['accept', c.method === 'GET' ? 'text/event-stream' : 'application/json, text/event-stream'],
    ];
    if (sid !== undefined) headers.push(['mcp-session-id', sid]);
    if (c.method === 'OPTIONS')
      headers.push(['origin', 'http://127.0.0.1'], ['access-control-request-method', 'POST']);
    const req: Req = { method: c.method, target: c.target, headers };
    // A GET on a session is a long-lived event stream: its head is the answer.
    const a = await this.raw(
      this.serialize(req),
      { end: 'wait', headOnly: c.method === 'GET', head: c.method === 'HEAD' },
      problems,
    );
    if (a.length !== 1 && !(c.method === 'GET' && a.length === 0)) {
      problems.push(`${c.method} ${c.target}: ${a.length} responses`);
    }
    for (const r of a) this.checkAnswer(r, problems);
    if (c.method === 'DELETE' && c.session === 'own') delete user.session;
    if (c.method === 'GET' && a.length === 0) problems.push(`GET ${c.target}: no response head`);
  }

  private async rawCase(c: Extract<HttpCase, { k: 'raw' }>, problems: string[]): Promise<void> {
    await this.rawShape(c, problems);
    if (PROBE_AFTER.has(c.shape)) await this.slotProbe(c.user, problems);
  }

  private async rawShape(c: Extract<HttpCase, { k: 'raw' }>, problems: string[]): Promise<void> {
    const user = this.users[c.user]!;
    await this.session(c.user);
    const body = Buffer.from(
      `{"jsonrpc":"2.0","id":${this.ids.next('int')},"method":"tools/call","params":{"name":"whoami","arguments":{}}}`,
    );
    const head = (
      extra: string[] = [],
      opts: { target?: string; cl?: number | null; method?: string; version?: string } = {},
    ) => {
      const lines = [
        `${opts.method ?? 'POST'} ${opts.target ?? '/mcp'} ${opts.version ?? 'HTTP/1.1'}`,
        `host: ${this.hostHeader}`,
        `authorization: Bearer ${user.token}`,
        'content-type: application/json',
        'accept: application/json, text/event-stream',
        ...(user.session ? [`mcp-session-id: ${user.session}`] : []),
        ...(opts.cl === null ? [] : [`content-length: ${opts.cl ?? body.length}`]),
        'connection: close',
        ...extra,
      ];
      return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    };
    const whole = (h: Buffer, b: Buffer = body) => [Buffer.concat([h, b])];
    const one = (bytes: Buffer[], end: RawEnd = 'wait') => this.expectOne(bytes, end, problems, c.shape);
    switch (c.shape) {
      case 'garbage-line': {
        const junk = Buffer.from(
          Array.from({ length: 1 + (c.pick % 200) }, (_, i) => (c.pick * 31 + i * 17) % 256),
        );
        return one([Buffer.concat([junk, Buffer.from('\r\n\r\n')])], 'fin');
      }
      case 'bad-method': {
        const method = ['FOO', 'GETT', 'P0ST', 'CONNECT', 'PRI'][c.pick % 5]!;
        // node:http hangs up on CONNECT when nobody listens for tunnels: no answer is its documented way.
        if (method === 'CONNECT') return this.expectAtMostOne(whole(head([], { method })), 'wait', problems);
        return one(whole(head([], { method })));
      }
      case 'bad-version':
        return one(
          whole(
            head([], { version: ['HTTP/9.9', 'HTTP/1', 'HTTP/1.1.1', 'HTTPS/1.1', 'http/1.1'][c.pick % 5]! }),
          ),
        );
      case 'http10':
        return one(whole(head([], { version: 'HTTP/1.0' })));
      case 'h2-preface':
        return one([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')], 'fin');
      case 'nul-in-header':
        return one(whole(head(['x-test: a\u0000b'])));
      case 'bare-cr':
        return one(whole(head(['x-test: a\rb'])));
      case 'bare-lf':
        return one(whole(head(['x-test: a\nb: c'])));
      case 'obs-fold':
        return one(whole(head(['x-test: a', ' folded'])));
      case 'no-colon':
        return one(whole(head(['x-test-no-colon'])));
      case 'space-before-colon':
        return one(whole(head(['content-length : 5'])));
      case 'non-ascii-header':
        return one(
          whole(
            Buffer.concat([
              head([], { cl: null }).subarray(0, -2),
              Buffer.from('x-utf8: \u00e9\u00ff\r\n', 'latin1'),
              Buffer.from('x-raw: \xed\xa0\x80\r\n', 'latin1'),
              Buffer.from(`content-length: ${body.length}\r\n\r\n`),
            ]),
          ),
        );
      case 'dup-content-length':
        return one(whole(head([`content-length: ${body.length + 1}`])));
      case 'cl-and-te':
        return one(whole(head(['transfer-encoding: chunked'])), 'fin');
      case 'bad-chunk-size':
        return one(
          whole(head(['transfer-encoding: chunked'], { cl: null }), Buffer.from('zz\r\nabc\r\n0\r\n\r\n')),
          'fin',
        );
      case 'chunked-ok': {
        const hex = body.length.toString(16);
        return one(
          whole(
            head(['transfer-encoding: chunked'], { cl: null }),
            Buffer.from(`${hex};ext=1\r\n${body}\r\n0\r\n\r\n`),
          ),
        );
      }
      case 'chunked-unfinished':
        return this.expectAtMostOne(
          whole(head(['transfer-encoding: chunked'], { cl: null }), Buffer.from('5\r\n{"jso')),
          'fin',
          problems,
        );
      case 'huge-chunk-size':
        return one(
          whole(
            head(['transfer-encoding: chunked'], { cl: null }),
            Buffer.from('fffffffffffffffffff\r\nab\r\n'),
          ),
          'fin',
        );
      case 'huge-header':
        return one(whole(head([`x-big: ${'h'.repeat(20_000 + (c.pick % 50_000))}`])));
      case 'many-headers':
        return one(whole(head(Array.from({ length: 500 + (c.pick % 3000) }, (_, i) => `x-h${i}: v`))));
      case 'long-url':
        return one(whole(head([], { target: `/mcp?${'u'.repeat(10_000 + c.pick * 100)}` })));
      case 'odd-target':
        return one(whole(head([], { target: ODD_TARGETS[c.pick % ODD_TARGETS.length]! })));
      case 'no-host':
        return one([
          Buffer.from(
            head()
              .toString('latin1')
              .replace(/host: [^\r]*\r\n/, '') + body.toString(),
          ),
        ]);
      case 'two-hosts':
        return one(whole(head(['host: evil.example'])));
      case 'expect-continue':
        return one(whole(head(['expect: 100-continue'])));
      case 'body-longer': {
        // The surplus is a second (garbage) request on the same connection: one or two answers.
        const a = await this.raw(
          whole(head([], { cl: Math.floor(body.length / 2) })),
          { end: 'fin' },
          problems,
        );
        if (a.length < 1 || a.length > 2) problems.push(`body-longer: ${a.length} responses`);
        for (const r of a) this.checkAnswer(r, problems);
        return;
      }
      case 'cl-zero':
        return one([head([], { cl: 0 })]);
      case 'cl-over-limit': {
        const big = Buffer.alloc(MAX_BODY_BYTES + 1 + (c.pick % 1000), 0x20);
        return one(whole(head([], { cl: big.length }), big));
      }
      case 'cl-absurd':
        return this.expectAtMostOne([head([], { cl: Number.MAX_SAFE_INTEGER })], 'fin', problems);
      case 'truncated-fin':
        return this.expectAtMostOne(
          [Buffer.concat([head(), body.subarray(0, Math.floor(body.length * c.cut))])],
          'fin',
          problems,
        );
      case 'truncated-destroy':
        await this.raw(
          [Buffer.concat([head(), body.subarray(0, Math.floor(body.length * c.cut))])],
          { end: 'destroy' },
          problems,
        );
        return;
      case 'headers-fin': {
        const h = head();
        return this.expectAtMostOne([h.subarray(0, Math.floor((h.length - 1) * c.cut))], 'fin', problems);
      }
      case 'headers-destroy': {
        const h = head();
        await this.raw([h.subarray(0, Math.floor((h.length - 1) * c.cut))], { end: 'destroy' }, problems);
        return;
      }
      case 'pipelined': {
        const keep = (b: Buffer) =>
          Buffer.from(b.toString('latin1').replace('connection: close', 'connection: keep-alive'), 'latin1');
        const first = Buffer.concat([keep(head()), body]);
        const body2 = Buffer.from(`{"jsonrpc":"2.0","id":${this.ids.next('int')},"method":"ping"}`);
        const second = Buffer.concat([head([], { cl: body2.length }), body2]);
        const a = await this.raw([Buffer.concat([first, second])], { end: 'wait', want: 2 }, problems);
        if (a.length !== 2) problems.push(`pipelined: ${a.length} responses for 2 requests`);
        for (const r of a) this.checkAnswer(r, problems);
        return;
      }
      case 'hangup':
        // A whole request, then the client goes away before the answer (a closed laptop, a killed agent).
        await this.raw(whole(head()), { end: 'destroy', delayMs: c.pick % 4 }, problems);
        return;
      case 'idle':
        // A connection that never sends a byte: closed by us after a moment; the server must not keep it.
        await this.raw([], { end: 'destroy', delayMs: 5 + (c.pick % 50) }, problems);
        return;
    }
  }

  /**
   * After a client hung up: the user's request slots must all be free again. Opens as many requests as the
   * user may have in flight and holds them (headers and the first byte of the body sent, the server waiting
   * for the rest), then completes them: each is answered 200 or, when no slot was free, 429. So the count
   * of 429s is exactly the slots still held, however slowly the server admits them. Re-measured once
   * before reporting, so a slot released a moment late is not taken for a leak.
   */
  private async slotProbe(u: number, problems: string[]): Promise<void> {
    const measure = async () => {
      const user = this.users[u]!;
      const slots = this.options.limits?.maxConcurrentPerUser ?? 16;
      const body = Buffer.from(`{"jsonrpc":"2.0","id":${this.ids.next('int')},"method":"ping"}`);
      const head = Buffer.from(
        [
          'POST /mcp HTTP/1.1',
          `host: ${this.hostHeader}`,
          `authorization: Bearer ${user.token}`,
          'content-type: application/json',
          'accept: application/json, text/event-stream',
          ...(user.session ? [`mcp-session-id: ${user.session}`] : []),
          `content-length: ${body.length}`,
          'connection: close',
          '',
          '',
        ].join('\r\n'),
      );
      const held = Array.from({ length: slots }, () => this.hold(Buffer.concat([head, body.subarray(0, 1)])));
      await new Promise((r) => setTimeout(r, 100));
      const statuses = await Promise.all(held.map((h) => h(body.subarray(1))));
      return statuses.filter((x) => x === 429).length;
    };
    const known = this.leaked.get(u) ?? 0;
    let refused = await measure();
    if (refused > known) {
      await new Promise((r) => setTimeout(r, 500));
      refused = Math.min(refused, await measure());
    }
    if (refused > known) {
      this.stats.leakedSlots += refused - known;
      problems.push(
        `after the client hung up, ${refused - known} more request slot(s) of the user stayed taken (${refused} of ${this.options.limits?.maxConcurrentPerUser ?? 16} held requests got 429): a slot outlived its request`,
      );
    }
    this.leaked.set(u, refused);
  }

  /** Sends `first` now; the returned function sends `rest` and resolves with the answer's status (0: none). */
  private hold(first: Buffer): (rest: Buffer) => Promise<number> {
    const socket = connect({ host: '127.0.0.1', port: this.port });
    const chunks: Buffer[] = [];
    let closed = false;
    socket.on('connect', () => socket.write(first));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined);
    const ended = new Promise<void>((resolve) => socket.on('close', () => ((closed = true), resolve())));
    return async (rest) => {
      if (!closed) socket.write(rest);
      const status = () => parseResponses(Buffer.concat(chunks), { head: false }).complete[0]?.status ?? 0;
      const deadline = Date.now() + (this.options.timeoutMs ?? 30_000);
      while (!closed && status() === 0 && Date.now() < deadline) {
        await Promise.race([ended, new Promise((r) => setTimeout(r, 5))]);
      }
      socket.destroy();
      return status();
    };
  }

  private async expectOne(bytes: Buffer[], end: RawEnd, problems: string[], what: string): Promise<void> {
    const a = await this.raw(bytes, { end }, problems);
    if (a.length === 0 && this.resetWhileSending(a, what)) return;
    if (a.length !== 1) problems.push(`${what}: ${a.length} responses for one request`);
    for (const r of a) this.checkAnswer(r, problems);
  }

  private async expectAtMostOne(bytes: Buffer[], end: RawEnd, problems: string[]): Promise<void> {
    const a = await this.raw(bytes, { end }, problems);
    if (a.length > 1) problems.push(`${a.length} responses for one cut-off request`);
    for (const r of a) this.checkAnswer(r, problems);
  }

  private serialize(r: Req): Buffer[] {
    const hasHost = r.headers.some(([k]) => k === 'host');
    const lines = [
      `${r.method} ${r.target} HTTP/1.1`,
      ...(hasHost ? [] : [`host: ${this.hostHeader}`]),
      ...r.headers.map(([k, v]) => `${k}: ${v}`),
      ...(r.body ? [`content-length: ${r.body.length}`] : []),
      'connection: close',
    ];
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
    return [r.body ? Buffer.concat([head, r.body]) : head];
  }

  /** fetch when it can say the request; raw bytes otherwise. */
  private async send(r: Req, problems: string[]): Promise<Answer | undefined> {
    const fetchable =
      r.headers.every(
        ([k, v]) => k !== 'host' && k !== 'transfer-encoding' && /^[\x20-\x7e]*$/.test(v) && v === v.trim(),
      ) && r.headers.some(([k]) => k === 'accept');
    if (!fetchable) {
      const a = await this.raw(this.serialize(r), { end: 'wait' }, problems);
      if (a.length === 0 && this.resetWhileSending(a, `${r.method} ${r.target}`)) return undefined;
      if (a.length !== 1) problems.push(`${a.length} responses for one request`);
      for (const x of a) this.checkAnswer(x, problems);
      return a[0];
    }
    try {
      const a = await this.fetch(r);
      this.checkAnswer(a, problems);
      return a;
    } catch (e) {
      this.stats.unanswered++;
      problems.push(`no response to POST: ${(e as Error).message}`);
      return undefined;
    }
  }

  private async fetch(r: Req): Promise<Answer> {
    const res = await fetch(`http://${this.hostHeader}${r.target}`, {
      method: r.method,
      headers: r.headers,
      ...(r.body ? { body: r.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    const body = await res.text();
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { status: res.status, headers, body };
  }

  /** Sends bytes over a fresh connection and reads every response until the server closes it. */
  private raw(bytes: Buffer[], o: RawOptions, problems: string[]): Promise<RawAnswers> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise((resolve) => {
      const socket: Socket = connect({ host: '127.0.0.1', port: this.port });
      const chunks: Buffer[] = [];
      let settled = false;
      let flushed = false;
      let resetWhileSending = false;
      const finish = (timedOut: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(grace);
        socket.destroy();
        const data = Buffer.concat(chunks);
        const parsed = parseResponses(data, { head: o.head === true });
        if (timedOut && !o.headOnly && o.end !== 'destroy') {
          if (parsed.complete.length === 0) this.stats.unanswered++;
          problems.push(
            `connection neither answered nor closed in ${timeoutMs} ms (${parsed.complete.length} complete responses, ${data.length} bytes)`,
          );
        }
        if (parsed.garbage && !timedOut)
          problems.push(`unparsable bytes after the responses: ${parsed.garbage.slice(0, 120)}`);
        resolve(Object.assign(parsed.complete, { resetWhileSending }));
      };
      const timer = setTimeout(() => finish(true), o.end === 'destroy' ? 5_000 : timeoutMs);
      socket.on('error', () => {
        // Refused mid-body, the server closes with our bytes unread: TCP then resets, and the reset may
        // discard its answer before we read it. That is the transport, not the server keeping silent.
        if (!flushed) resetWhileSending = true;
        finish(false);
      });
      socket.on('close', () => finish(false));
      const want = o.want ?? 1;
      let grace: NodeJS.Timeout | undefined;
      socket.on('data', (d: Buffer) => {
        chunks.push(d);
        const data = Buffer.concat(chunks);
        if (o.headOnly && data.includes('\r\n\r\n')) {
          const parsed = parseResponses(data, { head: true });
          if (parsed.complete.length) finish(false);
          return;
        }
        // An event stream answer may keep the connection open despite "connection: close" (the SDK sets
        // keep-alive on it): once the expected answers are complete, a moment for any extra one, then done.
        const parsed = parseResponses(data, { head: o.head === true });
        if (!grace && parsed.complete.filter((a) => a.framed).length >= want) {
          grace = setTimeout(() => finish(false), 25);
        }
      });
      socket.on('connect', async () => {
        bytes.forEach((b, i) => socket.write(b, i === bytes.length - 1 ? () => (flushed = true) : undefined));
        if (!bytes.length) flushed = true;
        if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
        if (o.end === 'fin') socket.end();
        if (o.end === 'destroy') {
          if (!o.delayMs) await new Promise((r) => setImmediate(r));
          finish(false);
        }
      });
    });
  }

  /** Counts a request refused while we were still sending it (its answer lost to the TCP reset). */
  private resetWhileSending(a: RawAnswers, what: string): boolean {
    if (!a.resetWhileSending) return false;
    this.stats.resetsWhileSending++;
    this.samples.add('reset while sending', what);
    return true;
  }

  /** Checks that hold for any answer: no canary, no 5xx but 503, bodies that parse. */
  private checkAnswer(a: Answer, problems: string[]): void {
    this.stats.responses++;
    this.stats.byStatus[a.status] = (this.stats.byStatus[a.status] ?? 0) + 1;
    this.options.canaries.scan('http-head', JSON.stringify(a.headers));
    this.options.canaries.scan('http-body', a.body);
    if (a.status >= 500 && a.status !== 503) {
      this.stats.serverErrors++;
      problems.push(`status ${a.status}: ${a.body.slice(0, 200)}`);
    }
    if (a.status === 503) this.samples.add('503', a.body.slice(0, 200));
    const type = a.headers['content-type'] ?? '';
    if (type.includes('application/json') && a.body.length) {
      try {
        JSON.parse(a.body);
      } catch {
        this.stats.nonJsonLines++;
        problems.push(`a JSON answer that does not parse: ${a.body.slice(0, 200)}`);
      }
    }
    if (type.includes('text/event-stream')) {
      for (const data of sseData(a.body)) {
        try {
          JSON.parse(data);
        } catch {
          this.stats.nonJsonLines++;
          problems.push(`an event that is not JSON: ${data.slice(0, 200)}`);
        }
      }
    }
  }

  /** Per-body expectations of a POST answered over HTTP (see Expect). */
  private checkRpc(a: Answer, e: Expect, problems: string[], cancelled: boolean): void {
    const msgs = messagesOf(a).filter((m) => !('method' in m));
    const counts = new Map<string, number>();
    for (const m of msgs) {
      if (m.id === undefined || m.id === null) continue;
      counts.set(idKey(m.id), (counts.get(idKey(m.id)) ?? 0) + 1);
    }
    const sent = new Set<string>();
    if (e.kind === 'request' || e.kind === 'maybe') sent.add(idKey(e.id));
    if (e.kind === 'error' || e.kind === 'batch') for (const id of e.ids) sent.add(idKey(id));
    for (const [k, n] of counts) {
      if (!sent.has(k)) {
        this.stats.strays++;
        problems.push(`answer to an id not in the request: ${k}`);
      } else if (n > 1) {
        this.stats.duplicates++;
        problems.push(`id ${k} answered ${n} times`);
      }
    }
    if (e.kind === 'request') this.stats.requests++;
    const method = e.kind === 'request' ? e.method : undefined;
    for (const m of msgs) {
      const failure = internalFailure(m, method);
      const error = m.error as { code?: number; message?: string } | undefined;
      if (failure) {
        this.stats.internalErrors++;
        this.samples.add('internal error (a failure)', `${method}: ${failure}`, 12);
        problems.push(`${method ?? 'request'} answered with an internal error: ${failure.slice(0, 300)}`);
      } else if (error?.code === -32603) {
        this.stats.sdkInternalErrors++;
        this.samples.add(`-32603 from the SDK (${method})`, error.message ?? '', 3);
      }
    }
    if (a.status !== 200) return;
    const need = e.kind === 'request' ? [e.id] : e.kind === 'batch' ? e.requests : [];
    for (const id of need) {
      if (!counts.has(idKey(id)) && !cancelled) {
        this.stats.unanswered++;
        problems.push(`200 without a response for id ${idKey(id)}`);
      }
    }
    if (e.kind === 'error' && msgs.length === 0) problems.push('200 without an error for an invalid body');
  }

  async heap(): Promise<HeapSample> {
    await this.ensure();
    return this.server!.heap();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

const PROBE_AFTER = new Set<RawShape>(HANGUP_SHAPES);

type RawEnd = 'wait' | 'fin' | 'destroy';
type RawAnswers = Answer[] & { resetWhileSending?: boolean };
interface RawOptions {
  end: RawEnd;
  headOnly?: boolean;
  /** A HEAD request: its answers have no body. */
  head?: boolean;
  delayMs?: number;
  /** Responses expected (pipelined: 2); reading stops shortly after they are complete. */
  want?: number;
}

/** The one JSON-RPC message a body holds, when it is one (not a batch, not broken). */
function parsedMessage(body: Buffer): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON-RPC messages in an answer (a JSON body, a JSON array, or the events of a stream). */
export function messagesOf(a: Answer): Array<Record<string, unknown>> {
  const type = a.headers['content-type'] ?? '';
  const texts = type.includes('text/event-stream') ? sseData(a.body) : type.includes('json') ? [a.body] : [];
  const out: Array<Record<string, unknown>> = [];
  for (const t of texts) {
    try {
      const v = JSON.parse(t) as unknown;
      for (const m of Array.isArray(v) ? v : [v])
        if (m && typeof m === 'object') out.push(m as Record<string, unknown>);
    } catch {
      // reported by checkAnswer
    }
  }
  return out;
}

function sseData(body: string): string[] {
  const out: string[] = [];
  for (const event of body.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''));
    if (data.length) out.push(data.join('\n'));
  }
  return out;
}

/** A small HTTP/1.1 response reader: status, headers, body by length, chunks or close. */
export function parseResponses(data: Buffer, o: { head: boolean }): { complete: Answer[]; garbage?: string } {
  const complete: Answer[] = [];
  let rest = data;
  while (rest.length) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) {
      return {
        complete,
        ...(rest.toString('latin1').startsWith('HTTP/') ? {} : { garbage: rest.toString('latin1') }),
      };
    }
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) return { complete, garbage: rest.toString('latin1') };
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let body = rest.subarray(end + 4);
    if (status < 200) {
      rest = body; // 100 Continue: not the answer
      continue;
    }
    let text = '';
    let framed = true;
    if (o.head || status === 204 || status === 304) {
      rest = body;
    } else if ((headers['transfer-encoding'] ?? '').includes('chunked')) {
      const parts: Buffer[] = [];
      let done = false;
      while (body.length) {
        const nl = body.indexOf('\r\n');
        if (nl < 0) break;
        const size = parseInt(body.subarray(0, nl).toString('latin1'), 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          const trailerEnd = body.indexOf('\r\n', nl + 2);
          body = body.subarray(trailerEnd < 0 ? body.length : trailerEnd + 2);
          done = true;
          break;
        }
        if (body.length < nl + 2 + size + 2) break;
        parts.push(body.subarray(nl + 2, nl + 2 + size));
        body = body.subarray(nl + 2 + size + 2);
      }
      text = Buffer.concat(parts).toString('utf8');
      // A stream cut short (a GET event stream we hung up on) still counts as its head.
      rest = done ? body : Buffer.alloc(0);
      framed = done;
    } else if (headers['content-length'] !== undefined) {
      const n = Number(headers['content-length']);
      text = body.subarray(0, n).toString('utf8');
      rest = body.subarray(Math.min(n, body.length));
      framed = body.length >= n;
    } else {
      text = body.toString('utf8');
      rest = Buffer.alloc(0);
      framed = false;
    }
    complete.push({ status, headers, body: text, framed });
  }
  return { complete };
}
