/**
 * @module What a heap snapshot of the server holds, split into V8's compiled code and everything else.
 * heapUsed after a full GC also counts the code the JIT compiles as a run goes on (optimized code, its
 * deoptimization data, baseline code, feedback vectors): over a long fuzz run that part grows by megabytes
 * while the program's own objects stay flat. A leak shows in the rest, so the heap oracle is on that.
 */
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerProcess } from './server-process.js';

export interface HeapBreakdown {
  /** Sum of every node's self size. */
  total: number;
  /** Nodes of type `code` (compiled code, bytecode, feedback, deoptimization data). */
  code: number;
  /** Everything else: objects, strings, arrays, closures, shapes, native buffers. */
  nonCode: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
}

/** Sums a .heapsnapshot file by node type. */
export function breakdown(snapshot: Snapshot): HeapBreakdown {
  const { node_fields: fields, node_types: nodeTypes } = snapshot.snapshot.meta;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const sizeAt = fields.indexOf('self_size');
  const codeType = nodeTypes[0].indexOf('code');
  let total = 0;
  let code = 0;
  const nodes = snapshot.nodes;
  for (let i = 0; i < nodes.length; i += width) {
    const size = nodes[i + sizeAt]!;
    total += size;
    if (nodes[i + typeAt] === codeType) code += size;
  }
  return { total, code, nonCode: total - code };
}

/** A snapshot of the server (after full GCs), summed and deleted. */
export async function heapBreakdown(server: ServerProcess, label: string): Promise<HeapBreakdown> {
  const file = join(tmpdir(), `qindex-fuzz-${label}-${server.child.pid}-${Date.now()}.heapsnapshot`);
  const written = await server.snapshot(file);
  try {
    return breakdown(JSON.parse(await readFile(written, 'utf8')) as Snapshot);
  } finally {
    await rm(written, { force: true });
  }
}
