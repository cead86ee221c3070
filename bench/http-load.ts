/**
 * @module The load generator of bench/http-many-users.ts, in a process of its own (forked with IPC): it
 * gets one job, warms every user up, then times `callsPerUser` sequential calls per user, all users at
 * once, and sends back the latencies. Both arms warm up the same way before the clock starts: each user's
 * identity exchange and one search (mcp: connect, which for stateful mode opens the session, then one
 * tool call, which makes the server exchange that user's token and cache them; raw: the exchange, then
 * one SDK search). So the timed calls of both arms are a cached user's calls. BENCH_TRACE=<path> writes
 * each timed call as [user, start ms, end ms, ok] to <path>.<kind>.json.
 */
import { writeFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { QBusinessClient, SearchRelevantContentCommand } from '@aws-sdk/client-qbusiness';
import { configFor } from '../test/helpers/config.js';
import { createLogger } from '../src/log.js';
import { createCredentialProvider } from '../src/identity/index.js';
import { createQTransport } from '../src/q/transport.js';
import type { SandboxDescription } from '../tools/sandbox/description.js';

export interface LoadJob {
  /** mcp: tool calls to the server at `url`; raw: the same searches with the SDK, no server. */
  kind: 'mcp' | 'raw';
  url: string;
  tokens: string[];
  callsPerUser: number;
  description: SandboxDescription;
}
export interface LoadDone {
  latencies: number[];
  errors: number;
  /** Errors of the warm-up (not timed). */
  warmupErrors: number;
  seconds: number;
  warmupSeconds: number;
  /** This process's CPU (user + system) over the timed part, in µs. */
  cpuMicros: number;
}

const QUERIES = [
  'VPN connection',
  'office guide Dublin',
  'security key enrollment',
  'expense policy',
  'laptop setup',
];
const logger = createLogger({ level: 'silent' });
const WARM_AT_ONCE = 100;

/** One user's calls: `call(query)` resolves false on an error. */
type User = { call(query: string): Promise<boolean>; close(): Promise<void> };

/**
 * Connects, trying again (a fresh client) up to twice: a connection reset in the warm-up is counted, not
 * fatal. Each user has connections of its own, as each real MCP client does (its own process): one pool
 * shared by every user in this process closes its coldest connections after the keep-alive timeout and
 * opens others in bursts, and a busy server accepts one new connection per event-loop turn (see
 * bench/README.md), so the shared pool measured that rather than the calls.
 */
async function mcpUser(job: LoadJob, token: string, failed: () => void): Promise<User> {
  for (let attempt = 1; ; attempt++) {
    const client = new Client({ name: 'bench', version: '1.0.0' });
    // The server's answers to tools/call carry no Keep-Alive hint (the SDK sets Connection itself, so
    // node adds none), and undici's default idle timeout is 4 s: the bench server's is 120.
    const connections = new Agent({ connections: 4, keepAliveTimeout: 110_000 });
    const fetch = ((input: string | URL, init?: RequestInit) =>
      undiciFetch(input, {
        ...(init as object),
        dispatcher: connections,
      })) as unknown as typeof globalThis.fetch;
    try {
      await client.connect(
        new StreamableHTTPClientTransport(new URL(job.url), {
          requestInit: { headers: { Authorization: `Bearer ${token}` } },
          fetch,
        }),
      );
      return mcpCalls(client, connections);
    } catch (e) {
      failed();
      await client.close().catch(() => undefined);
      await connections.close().catch(() => undefined);
      if (attempt === 3) throw e;
    }
  }
}

function mcpCalls(client: Client, connections: Agent): User {
  return {
    call: (query) =>
      client.callTool({ name: 'search_relevant_content', arguments: { query } }).then(
        (r) => !r.isError,
        () => false,
      ),
    close: async () => {
      await client.close();
      await connections.close();
    },
  };
}

/** The raw arm: per token, the same identity exchange and one SDK client over one shared HTTP/2 pool. */
function rawUsers(job: LoadJob) {
  const config = configFor(job.description, 'data-accessor');
  const requestHandler = createQTransport();
  const user = async (token: string): Promise<User> => {
    const credentials = createCredentialProvider(config, {
      freshIdToken: async () => token,
      logger,
      baseCredentials: job.description.modes.dataAccessor.baseCredentials,
    });
    await credentials();
    const sdk = new QBusinessClient({
      region: config.q.region,
      ...(config.aws.endpoint ? { endpoint: config.aws.endpoint } : {}),
      credentials,
      maxAttempts: 1,
      requestHandler,
    });
    const search = (queryText: string) =>
      new SearchRelevantContentCommand({
        applicationId: config.q.applicationId,
        queryText,
        contentSource: { retriever: { retrieverId: config.q.retrieverId } },
      });
    return {
      call: (query) =>
        sdk.send(search(query)).then(
          () => true,
          () => false,
        ),
      close: async () => sdk.destroy(),
    };
  };
  return { user, destroy: () => requestHandler.destroy() };
}

async function generateLoad(job: LoadJob): Promise<LoadDone> {
  const raw = job.kind === 'raw' ? rawUsers(job) : undefined;
  let warmupErrors = 0;
  const warmStart = performance.now();
  // Warm-up, not timed: every user connected/exchanged and one search done, WARM_AT_ONCE users at a time
  // (1,000 connects at once overflowed the server's accept queue: 10 s connect timeouts).
  const users: User[] = new Array<User>(job.tokens.length);
  let nextUser = 0;
  const warmOne = async () => {
    while (nextUser < job.tokens.length) {
      const u = nextUser++;
      const token = job.tokens[u]!;
      const user = raw ? await raw.user(token) : await mcpUser(job, token, () => warmupErrors++);
      if (!(await user.call(QUERIES[u % QUERIES.length]!))) warmupErrors++;
      users[u] = user;
    }
  };
  await Promise.all(Array.from({ length: Math.min(WARM_AT_ONCE, job.tokens.length) }, warmOne));
  const warmupSeconds = (performance.now() - warmStart) / 1000;
  const latencies: number[] = [];
  const trace: Array<[number, number, number, boolean]> = [];
  let errors = 0;
  // The parent reads the server's and the sandbox's CPU now, and again when this job is done.
  await new Promise<void>((resolve) => process.send!({ phase: 'timed' }, () => resolve()));
  const cpuStart = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    users.map(async (user, u) => {
      for (let c = 0; c < job.callsPerUser; c++) {
        const t0 = performance.now();
        const ok = await user.call(QUERIES[(u + c + 1) % QUERIES.length]!);
        const t1 = performance.now();
        latencies.push(t1 - t0);
        if (process.env.BENCH_TRACE) trace.push([u, t0 - started, t1 - started, ok]);
        if (!ok) errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  if (process.env.BENCH_TRACE)
    writeFileSync(`${process.env.BENCH_TRACE}.${job.kind}.json`, JSON.stringify(trace));
  await Promise.all(users.map((user) => user.close().catch(() => undefined)));
  raw?.destroy();
  return {
    latencies,
    errors: errors + stray,
    warmupErrors,
    seconds,
    warmupSeconds,
    cpuMicros: cpu.user + cpu.system,
  };
}

// A failure the MCP client does not hand back (a background request of its own) is one more error, not
// the end of the run.
let stray = 0;
process.on('unhandledRejection', () => stray++);

process.once('message', (job) => {
  void generateLoad(job as LoadJob).then((done) => process.send!(done, () => process.exit(0)));
});
