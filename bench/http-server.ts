/**
 * @module The server of bench/http-many-users.ts in a process of its own (forked with IPC): the built
 * server (dist/, as `npm run build` leaves it) started in-process, so the bench can ask it for its heap.
 * Requests: { start: { input, stateless, baseCredentials } } → url; { heap: true } → heapUsed after
 * full GCs (needs --expose-gc); { snapshot: path } → a heap snapshot there; { stats: true } → the server's stats; { cpu: true } → its CPU so far (µs); { stop: true } → closes and exits.
 */
import { writeHeapSnapshot } from 'node:v8';
import type * as App from '../src/server/http/app.js';
import type { HttpServerHandle } from '../src/server/http/app.js';
import type * as Mcp from '../src/server/mcp.js';
import type * as Schema from '../src/config/schema.js';
import type * as Log from '../src/log.js';

// The built modules, not the sources: what `qindex-mcp serve --transport http` runs (tsc output).
const dist = new URL('../dist/src/', import.meta.url);
const built = async <T>(path: string) => (await import(new URL(path, dist).href)) as T;
const { startHttpServer } = await built<typeof App>('server/http/app.js');
const { createMcpServer } = await built<typeof Mcp>('server/mcp.js');
const { ConfigSchema } = await built<typeof Schema>('config/schema.js');
const { createLogger } = await built<typeof Log>('log.js');

interface Start {
  input: unknown;
  stateless: boolean;
  baseCredentials: { accessKeyId: string; secretAccessKey: string };
}
type Message = {
  id: number;
  start?: Start;
  heap?: true;
  snapshot?: string;
  stats?: true;
  cpu?: true;
  stop?: true;
};

let server: HttpServerHandle | undefined;

const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

async function settledHeap(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the server child with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return process.memoryUsage().heapUsed;
}

async function answer(m: Message): Promise<unknown> {
  if (m.start) {
    server = await startHttpServer(ConfigSchema.parse(m.start.input), {
      logger: createLogger({ level: 'silent' }),
      createServer: createMcpServer,
      baseCredentials: m.start.baseCredentials,
    });
    return server.url;
  }
  if (m.heap) return settledHeap();
  // For finding what a cached user holds: compare two snapshots (by constructor) in DevTools.
  if (m.snapshot) return (await settledHeap(), writeHeapSnapshot(m.snapshot));
  if (m.stats) return server?.stats();
  if (m.cpu) return cpuMicros();
  await server?.close();
  return true;
}

process.on('message', (m: Message) => {
  answer(m).then(
    (value) => process.send!({ id: m.id, value }, () => (m.stop ? process.exit(0) : undefined)),
    (e: unknown) => process.send!({ id: m.id, error: String(e) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send!({ id: 0, value: 'ready' });
