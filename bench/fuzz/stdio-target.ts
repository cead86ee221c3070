/**
 * @module The stdio target: writes fuzz cases to the built server's stdin as raw bytes and checks what
 * comes back on stdout. One case at a time, each followed by a `ping` sentinel: the server writes a
 * parse or invalid-request error while it reads the line, before it answers the ping, so every
 * anonymous error that arrives before the sentinel's answer belongs to the case. A case passes when every
 * request got exactly one response (within the timeout), every bad line exactly one error, nothing was
 * answered twice or unasked, and the process is still running. Every stdout line must be JSON-RPC.
 */
import type { Sandbox } from '../../tools/sandbox/index.js';
import type { CanaryScanner } from './canary.js';
import {
  IdAllocator,
  build,
  classify,
  idKey,
  internalFailure,
  jsonRpcMessage,
  requestText,
  type Expect,
  type Payload,
  type ToolSchema,
} from './jsonrpc-cases.js';
import { spawnStdioServer, type HeapSample, type LogLevel, type ServerProcess } from './server-process.js';

export interface Verdict {
  ok: boolean;
  problems: string[];
}

export interface TargetStats {
  cases: number;
  units: number;
  requests: number;
  responses: number;
  anonymousErrors: number;
  nonJsonLines: number;
  crashes: number;
  unanswered: number;
  duplicates: number;
  strays: number;
  restarts: number;
  /** `internal` tool errors, stack overflows, URIErrors, -32603 to tools/call (see internalFailure). */
  internalErrors: number;
  /** -32603 answers to other methods: the SDK's own parameter checks (counted, not failed). */
  sdkInternalErrors: number;
  notifications: number;
}

export const emptyStats = (): TargetStats => ({
  cases: 0,
  units: 0,
  requests: 0,
  responses: 0,
  anonymousErrors: 0,
  nonJsonLines: 0,
  crashes: 0,
  unanswered: 0,
  duplicates: 0,
  strays: 0,
  restarts: 0,
  internalErrors: 0,
  sdkInternalErrors: 0,
  notifications: 0,
});

/** Samples of odd things seen, by kind (a few each, for the report). */
export class Samples {
  readonly byKind = new Map<string, string[]>();
  add(kind: string, text: string, max = 5): void {
    const list = this.byKind.get(kind) ?? [];
    if (list.length < max) list.push(text.length > 600 ? `${text.slice(0, 600)}…` : text);
    this.byKind.set(kind, list);
  }
  toJSON(): Record<string, string[]> {
    return Object.fromEntries(this.byKind);
  }
}

interface LiveCase {
  label: string;
  expects: Expect[];
  counts: Map<string, number>;
  /** Method of each request id, to judge its errors. */
  methods: Map<string, string>;
  anon: number;
  sentinel: string;
  sentinelSeen: boolean;
  problems: string[];
  wake: () => void;
}

export interface StdioTargetOptions {
  canaries: CanaryScanner;
  username?: string;
  logLevel?: LogLevel;
  /** Per case (every request of it must be answered by then). */
  timeoutMs?: number;
  nodeFlags?: string[];
}

export class StdioTarget {
  readonly stats = emptyStats();
  readonly samples = new Samples();
  private server: ServerProcess | undefined;
  private readonly ids = new IdAllocator();
  private live: LiveCase | undefined;
  private readonly control = new Map<string, (msg: Record<string, unknown>) => void>();
  /** Ids already answered (recent ones), so a second answer is told apart from an unasked one. */
  private readonly answered = new Map<string, string>();
  private pending: Buffer = Buffer.alloc(0);
  tools: ToolSchema[] = [];

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: StdioTargetOptions,
  ) {}

  get process(): ServerProcess | undefined {
    return this.server;
  }

  async ensure(): Promise<void> {
    if (this.server && !this.server.exit()) return;
    if (this.server) this.stats.restarts++;
    this.pending = Buffer.alloc(0);
    const server = await spawnStdioServer(this.sandbox, {
      canaries: this.options.canaries,
      ...(this.options.username ? { username: this.options.username } : {}),
      ...(this.options.logLevel ? { logLevel: this.options.logLevel } : {}),
      ...(this.options.nodeFlags ? { nodeFlags: this.options.nodeFlags } : {}),
    });
    this.server = server;
    server.stdout.on('data', (chunk: Buffer) => this.onStdout(chunk));
    void server.exited.then(() => this.live?.wake());
    await this.request('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'qindex-fuzz', version: '1.0.0' },
    });
    this.write(Buffer.from('{"jsonrpc":"2.0","method":"notifications/initialized"}\n'));
    if (!this.tools.length) {
      const list = (await this.request('tools/list', {})) as { tools: ToolSchema[] };
      this.tools = list.tools;
    }
  }

  /** A well-formed request outside the fuzz accounting (setup: tools/list, ids for the pools). */
  async request(method: string, params: unknown, timeoutMs = 30_000): Promise<unknown> {
    const text = requestText(this.ids, method, params);
    const key = idKey(JSON.parse(text).id);
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${method}: no answer in ${timeoutMs} ms`)), timeoutMs);
      this.control.set(key, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      const server = this.server;
      void server?.exited.then((e) =>
        reject(
          new Error(`${method}: server exited (${e.code ?? e.signal}): ${server.stderrTail().slice(-1500)}`),
        ),
      );
    });
    this.write(Buffer.from(`${text}\n`));
    const m = await answer;
    if (m.error) throw new Error(`${method}: ${JSON.stringify(m.error)}`);
    return m.result;
  }

  private write(buf: Buffer): Promise<void> {
    const stdin = this.server?.stdin;
    if (!stdin || stdin.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      if (stdin.write(buf)) resolve();
      else {
        const done = () => {
          stdin.off('drain', done);
          stdin.off('close', done);
          resolve();
        };
        stdin.once('drain', done);
        stdin.once('close', done);
      }
    });
  }

  private onStdout(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (let i = this.pending.indexOf(10); i >= 0; i = this.pending.indexOf(10)) {
      const line = this.pending.subarray(0, i);
      this.pending = this.pending.subarray(i + 1);
      this.onLine(line.toString('utf8'));
    }
  }

  private onLine(line: string): void {
    this.options.canaries.scan('stdout', line);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.nonJson(line);
      return;
    }
    const items = Array.isArray(value) ? value : [value];
    if (Array.isArray(value) && value.length === 0) this.nonJson(line);
    for (const item of items) {
      if (!jsonRpcMessage(item)) {
        this.nonJson(line);
        continue;
      }
      this.onMessage(item as Record<string, unknown>);
    }
  }

  private nonJson(line: string): void {
    this.stats.nonJsonLines++;
    this.samples.add('non-JSON-RPC stdout line', `${this.live?.label ?? '(between cases)'}: ${line}`);
    this.live?.problems.push(`stdout line is not JSON-RPC: ${line.slice(0, 200)}`);
  }

  private onMessage(m: Record<string, unknown>): void {
    if ('method' in m) {
      if ('id' in m) {
        // The client declared no capabilities: the server should not be asking anything.
        this.samples.add('server-to-client request', JSON.stringify(m).slice(0, 300));
        this.write(
          Buffer.from(
            `${JSON.stringify({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: 'no' } })}\n`,
          ),
        );
      } else this.stats.notifications++;
      return;
    }
    this.stats.responses++;
    this.noteInternal(m);
    if (m.id === undefined || m.id === null) {
      this.stats.anonymousErrors++;
      if (this.live) this.live.anon++;
      else this.samples.add('anonymous error between cases', JSON.stringify(m));
      this.live?.wake();
      return;
    }
    const key = idKey(m.id);
    const control = this.control.get(key);
    if (control) {
      this.control.delete(key);
      control(m);
      return;
    }
    const live = this.live;
    if (live && key === live.sentinel) {
      live.sentinelSeen = true;
      live.wake();
      return;
    }
    if (live && live.counts.has(key)) {
      live.counts.set(key, live.counts.get(key)! + 1);
      this.answered.set(key, live.label);
      live.wake();
      return;
    }
    const earlier = this.answered.get(key);
    const what = earlier ? `second answer to id ${key} of ${earlier}` : `answer to an id never sent: ${key}`;
    if (earlier) this.stats.duplicates++;
    else this.stats.strays++;
    this.samples.add(earlier ? 'duplicate answer' : 'stray answer', what);
    live?.problems.push(what);
  }

  private noteInternal(m: Record<string, unknown>): void {
    const error = m.error as { code?: number; message?: string } | undefined;
    const method = m.id === undefined || m.id === null ? undefined : this.live?.methods.get(idKey(m.id));
    const failure = internalFailure(m, method);
    if (failure) {
      this.stats.internalErrors++;
      this.samples.add('internal error (a failure)', `${this.live?.label ?? ''}: ${method}: ${failure}`, 12);
      this.live?.problems.push(
        `${method ?? 'request'} answered with an internal error: ${failure.slice(0, 300)}`,
      );
    } else if (error?.code === -32603) {
      this.stats.sdkInternalErrors++;
      this.samples.add(
        `-32603 from the SDK (${method})`,
        `${this.live?.label ?? ''}: ${error.message ?? ''}`,
        3,
      );
    }
  }

  /** Runs one case; `label` names it in reports. */
  async runCase(payload: Payload, label: string): Promise<Verdict> {
    await this.ensure();
    const server = this.server!;
    this.stats.cases++;
    const built = build(payload, this.ids, this.tools);
    const lines: Buffer[] = [];
    for (const unit of built.units) {
      // The server splits at every newline: each piece is a line of its own.
      let rest = unit;
      for (let i = rest.indexOf(10); i >= 0; i = rest.indexOf(10)) {
        lines.push(rest.subarray(0, i));
        rest = rest.subarray(i + 1);
      }
      lines.push(rest);
    }
    const expects = lines.map((l) => classify(l));
    const cancelled = new Set((built.cancels ?? []).map((c) => idKey(JSON.parse(c))));
    for (let i = 0; i < expects.length; i++) {
      const e = expects[i]!;
      if (e.kind === 'request' && cancelled.has(idKey(e.id))) expects[i] = { kind: 'maybe', id: e.id };
    }
    const counts = new Map<string, number>();
    const methods = new Map<string, string>();
    for (const e of expects) {
      if (e.kind === 'request') methods.set(idKey(e.id), e.method);
      if (e.kind === 'request' || e.kind === 'maybe') counts.set(idKey(e.id), 0);
      if (e.kind === 'error' || e.kind === 'batch') for (const id of e.ids) counts.set(idKey(id), 0);
    }
    this.stats.units += lines.length;
    this.stats.requests += expects.filter((e) => e.kind === 'request').length;
    const sentinelText = requestText(this.ids, 'ping', {});
    const live: LiveCase = {
      label,
      expects,
      counts,
      methods,
      anon: 0,
      sentinel: idKey(JSON.parse(sentinelText).id),
      sentinelSeen: false,
      problems: [],
      wake: () => undefined,
    };
    this.live = live;
    const timeoutMs = (this.options.timeoutMs ?? 30_000) * (payload.k === 'huge' ? 4 : 1);
    const finished = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      live.wake = () => {
        if (server.exit() || assess(live, false).complete) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    const body = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
    if (built.split) {
      for (let i = 0; i < body.length; i += built.split) await this.write(body.subarray(i, i + built.split));
    } else await this.write(body);
    for (const c of built.cancels ?? []) {
      await this.write(
        Buffer.from(
          `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":${c},"reason":"fuzz"}}\n`,
        ),
      );
    }
    await this.write(Buffer.from(`${sentinelText}\n`));
    await finished;
    // One more turn: an answer written right behind the last expected one is still this case's.
    await new Promise((r) => setImmediate(r));
    this.live = undefined;
    const exit = server.exit();
    const verdict = assess(live, true);
    const problems = [...live.problems, ...verdict.problems];
    if (exit) {
      this.stats.crashes++;
      problems.unshift(
        `server exited (code ${exit.code}, signal ${exit.signal}); stderr tail: ${server.stderrTail().slice(-1500)}`,
      );
      this.samples.add(
        'crash',
        `${label}: exit ${exit.code ?? exit.signal}: ${server.stderrTail().slice(-800)}`,
      );
    } else if (!live.sentinelSeen) {
      problems.push(`the ping sent after the case got no answer within ${timeoutMs} ms (server stuck)`);
    }
    this.stats.unanswered += verdict.unanswered;
    this.stats.duplicates += verdict.duplicates;
    // Forget old answered ids now and then: a duplicate comes right after the first answer, not hours later.
    if (this.answered.size > 50_000) this.answered.clear();
    return { ok: problems.length === 0, problems };
  }

  async heap(): Promise<HeapSample> {
    await this.ensure();
    return this.server!.heap();
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}

interface Assessment {
  complete: boolean;
  problems: string[];
  unanswered: number;
  duplicates: number;
}

/** Compares what came back with what each line should get (see Expect). */
export function assess(live: LiveCase, final: boolean): Assessment {
  const problems: string[] = [];
  let complete = live.sentinelSeen;
  let unanswered = 0;
  let duplicates = 0;
  let needAnon = 0;
  let maxAnon = 0;
  const count = (id: string | number) => live.counts.get(idKey(id)) ?? 0;
  for (const e of live.expects) {
    if (e.kind === 'request') {
      const n = count(e.id);
      if (n === 0) {
        complete = false;
        if (final) {
          unanswered++;
          problems.push(`request id ${idKey(e.id)} got no response`);
        }
      } else if (n > 1) {
        duplicates++;
        problems.push(`request id ${idKey(e.id)} got ${n} responses`);
      }
    } else if (e.kind === 'maybe') {
      if (count(e.id) > 1) {
        duplicates++;
        problems.push(`cancelled request id ${idKey(e.id)} got ${count(e.id)} responses`);
      }
    } else if (e.kind === 'error') {
      const n = e.ids.reduce<number>((s, id) => s + count(id), 0);
      if (n > 1) {
        duplicates++;
        problems.push(`invalid line (id ${e.ids.map(idKey).join(',')}) got ${n} responses`);
      }
      if (n === 0) {
        needAnon++;
        maxAnon++;
      }
    } else if (e.kind === 'batch') {
      const served = e.requests.filter((id) => count(id) > 0).length;
      if (served === 0) {
        // Refused as a whole (one error), or nothing to answer in it.
        needAnon += e.requests.length === 0 && e.invalid === 0 ? 0 : e.requests.length ? 1 : 0;
        maxAnon += Math.max(1, e.invalid);
        if (e.requests.length) {
          // Undecided until the refusal arrives or the requests are answered.
          if (live.anon < needAnon) complete = false;
        }
      } else {
        maxAnon += e.invalid;
        for (const id of e.requests) {
          const n = count(id);
          if (n === 0) {
            complete = false;
            if (final) {
              unanswered++;
              problems.push(`batch request id ${idKey(id)} got no response (others of its batch did)`);
            }
          } else if (n > 1) {
            duplicates++;
            problems.push(`batch request id ${idKey(id)} got ${n} responses`);
          }
        }
      }
    }
  }
  if (live.anon < needAnon) {
    complete = false;
    if (final) {
      unanswered += needAnon - live.anon;
      problems.push(`${needAnon - live.anon} invalid line(s) got no error response`);
    }
  }
  if (live.anon > maxAnon) {
    problems.push(`${live.anon} anonymous errors for ${maxAnon} invalid line(s)`);
  }
  return { complete, problems: final ? problems : [], unanswered, duplicates };
}
