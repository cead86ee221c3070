/**
 * Preloaded into the server under test (`node --expose-gc --import ./heap-probe.mjs dist/src/cli.js …`):
 * a side channel on file descriptor 3, never on stdout (the protocol) and never an endpoint of the product.
 * The harness writes `heap\n`; the probe runs full GCs and answers one JSON line of process.memoryUsage()
 * (or `snapshot <file>\n`: it writes a heap snapshot there and answers its path).
 * Plain JavaScript so the built server needs no loader.
 */
import { Socket } from 'node:net';
import { writeHeapSnapshot } from 'node:v8';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';

const gc = globalThis.gc;
let channel;
try {
  channel = new Socket({ fd: 3, readable: true, writable: true });
} catch {
  channel = undefined; // started without the side channel: nothing to serve
}

if (channel) {
  // The probe must not keep the server alive once the server itself would exit.
  channel.unref();
  channel.on('error', () => undefined);
  let pending = '';
  channel.on('data', (chunk) => {
    pending += chunk.toString('utf8');
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      const command = pending.slice(0, i).trim();
      pending = pending.slice(i + 1);
      if (command === 'heap') void answer();
      // `snapshot <file>`: a heap snapshot after GC, to find what grew (Chrome DevTools reads it).
      if (command.startsWith('snapshot ')) void snapshot(command.slice(9));
    }
  });
}

async function snapshot(file) {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await sleep(20);
  }
  channel.write(`${JSON.stringify({ snapshot: writeHeapSnapshot(file) })}\n`);
}

/** Several full GCs with turns of the event loop between them, so finalizers and weak callbacks run. */
async function answer() {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await sleep(20);
  }
  const m = process.memoryUsage();
  channel.write(
    `${JSON.stringify({ gc: typeof gc === 'function', heapUsed: m.heapUsed, heapTotal: m.heapTotal, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers })}\n`,
  );
}
