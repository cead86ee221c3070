/**
 * @module Benchmark: kill -9 during refreshes. A child process refreshes in a tight loop through the file
 * (or keychain) store against the sandbox IdP, which rotates the refresh token on every refresh; it is
 * killed at a seeded random moment, then a fresh sign-in (what the next server start does) must still
 * refresh. Counts kills, lost logins, locks left by a dead holder, orphan temp files, and how long the
 * check after each kill took (a stale lock used to cost 15 s).
 *
 * Usage: npx tsx bench/kill-refresh.ts [--kills 100] [--seed 1] [--max-delay-ms 150] [--store file]
 *        [--idp-grace-seconds 0]   (above 0: the IdP lets a rotated token work that long, as Okta's does)
 * The keychain store needs a Secret Service: run it under dbus-run-session with gnome-keyring unlocked
 * (bench/README.md has the line).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { killRefreshLoop } from '../test/auth/kill-harness.js';
import { startSandbox } from '../tools/sandbox/index.js';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '100' },
    seed: { type: 'string', default: '1' },
    'max-delay-ms': { type: 'string', default: '150' },
    store: { type: 'string', default: 'file' },
    'idp-grace-seconds': { type: 'string', default: '0' },
  },
});
const store = values.store === 'keychain' ? 'keychain' : 'file';
const sandbox = await startSandbox();
const idpGraceSeconds = Number(values['idp-grace-seconds']);
sandbox.state.switches.refreshReuseGraceSeconds = idpGraceSeconds;
const dir = await mkdtemp(join(tmpdir(), 'qindex-kill-'));
const load = loadavg()[0]!;
const t0 = performance.now();
try {
  const f = await killRefreshLoop({
    description: sandbox.description,
    dir,
    kills: Number(values.kills),
    seed: Number(values.seed),
    maxDelayMs: Number(values['max-delay-ms']),
    store,
    env: { DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS },
  });
  const sorted = [...f.checkMs].sort((a, b) => a - b);
  const q = (p: number) =>
    Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(1));
  const result = {
    store,
    idpGraceSeconds,
    seed: Number(values.seed),
    maxDelayMs: Number(values['max-delay-ms']),
    kills: f.kills,
    losses: f.losses,
    lossCodes: f.lossCodes,
    deadLockHolders: f.deadLocks,
    orphanTempFiles: f.orphanTemps,
    tempFilesAfterCheck: f.tempsAfterCheck,
    childRefreshes: f.refreshes,
    killsAt: f.killsAt,
    lossesAt: f.lossesAt,
    checkMs: { p50: q(0.5), p90: q(0.9), max: q(1) },
    checksOver1s: f.checkMs.filter((ms) => ms > 1000).length,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    node: process.version,
    cpus: cpus().length,
    loadAverage: Number(load.toFixed(2)),
    date: new Date().toISOString().slice(0, 10),
  };
  process.stderr.write(`${JSON.stringify(result, null, 2)}\n`);
  mkdirSync(join(import.meta.dirname, 'results'), { recursive: true });
  writeFileSync(
    join(import.meta.dirname, 'results', `kill-refresh-${store}${idpGraceSeconds ? '-idp-grace' : ''}.json`),
    `${JSON.stringify(result, null, 2)}\n`,
  );
} finally {
  await sandbox.stop();
  await rm(dir, { recursive: true, force: true });
}
