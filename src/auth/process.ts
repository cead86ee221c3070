/**
 * @module Who a process is, well enough to tell later whether it still runs: pid, start time and boot id
 * (Linux /proc; elsewhere the pid alone) and host name. Sign-in locks record it so a waiter can take over
 * a lock whose holder was killed instead of waiting out a timeout.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat); Linux only. */
  start?: string;
  /** /proc/sys/kernel/random/boot_id: a pid from another boot never runs now. Linux only. */
  boot?: string;
  host: string;
}

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces and parentheses. */
export function startTimeOf(pid: number): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // fields[0] is field 3 (state)
}

let self: ProcessIdentity | undefined;

export function selfIdentity(): ProcessIdentity {
  self ??= {
    pid: process.pid,
    start: startTimeOf(process.pid),
    boot: readText('/proc/sys/kernel/random/boot_id')?.trim() || undefined,
    host: hostname(),
  };
  return self;
}

/**
 * Whether the process `id` names still runs: true, false, or undefined when this machine cannot tell
 * (another host, e.g. a config directory shared over the network or between containers).
 */
export function isRunning(id: ProcessIdentity): boolean | undefined {
  const me = selfIdentity();
  if (id.host !== me.host) return undefined;
  if (id.boot && me.boot && id.boot !== me.boot) return false;
  try {
    process.kill(id.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Same pid, other start time: the pid was reused by a new process.
  if (id.start && me.start) return startTimeOf(id.pid) === id.start;
  return true;
}
