/**
 * @module kill -9 at random points of a tight refresh loop, then a check that the login still refreshes.
 * Each round spawns a child that refreshes through the shared store as fast as it can (the sandbox IdP
 * rotates the refresh token every time), kills it at a seeded random moment after its first refresh, looks
 * at what it left behind (a lock with a dead holder, temp files), and signs in from a fresh SignIn the way
 * the next server start would. Shared by test/auth/crash.test.ts (a short slice) and bench/kill-refresh.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSignIn } from '../../src/auth/index.js';
import { openTokenStore } from '../../src/auth/store/index.js';
import { createLogger } from '../../src/log.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { SandboxDescription } from '../../tools/sandbox/description.js';

const child = fileURLToPath(new URL('./fixtures/kill-loop.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));

export interface KillOptions {
  description: SandboxDescription;
  /** The config directory the children and the checks share. */
  dir: string;
  kills: number;
  seed: number;
  /** Each child is killed between 0 and this many ms after `killAfter`. */
  maxDelayMs: number;
  /**
   * `refresh` (default): after the child's first refresh, so kills land anywhere in the loop. `temp`:
   * once the first rotated token is in a temp file in logins/ (seen through fs.watch), aiming at the
   * moments between that write and the end of the refresh: fsync, rename, validation, lock release.
   */
  killAfter?: 'refresh' | 'temp';
  store?: 'file' | 'keychain';
  /** Extra environment for children and checks (e.g. the D-Bus session for the keychain). */
  env?: Record<string, string | undefined>;
}

export interface KillFigures {
  kills: number;
  /** Checks that could not refresh: the login was lost. */
  losses: number;
  lossCodes: string[];
  /** Kills that left the sign-in lock behind, held by the dead child. */
  deadLocks: number;
  /** Kills that left a temp file in logins/ (the check recovers or removes it). */
  orphanTemps: number;
  /** Temp files still in logins/ after a check (must stay 0: they hold refresh tokens). */
  tempsAfterCheck: number;
  /** Refreshes the children completed between them. */
  refreshes: number;
  /** How long each check took, in ms (figures for bench/README.md, never asserted). */
  checkMs: number[];
  /** Where the kills landed (see Phase), and the losses by the same. */
  killsAt: Record<Phase, number>;
  lossesAt: Record<Phase, number>;
}

/**
 * Where a refresh was when its process died: `send` (the request was out, no answer yet: the IdP rotates
 * anyway, so a strictly rotated token dies with the process), `recv` (the answer had arrived, the new
 * token was not in a temp file yet), `saved` (it was), `ok` (between refreshes). From the child's lines,
 * written synchronously, and fs.watch on logins/ (which may see a temp file late, never early).
 */
export type Phase = 'send' | 'recv' | 'saved' | 'ok';

/** mulberry32: a small seeded PRNG, so a failing slice can be replayed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function killRefreshLoop(o: KillOptions): Promise<KillFigures> {
  const d = o.description;
  const env = { ...o.env, QINDEX_CONFIG_DIR: o.dir, HOME: o.dir };
  const store = openTokenStore(o.store ?? 'file', { env });
  const seed = async () =>
    store.write('default', {
      refreshToken: await controlClient(d.control).mintRefreshToken({ username: 'alice' }),
      issuer: d.issuer,
      clientId: d.clients.native,
      subject: 'alice',
      updatedAt: new Date().toISOString(),
    });
  await seed();
  const random = seeded(o.seed);
  const figures: KillFigures = {
    kills: 0,
    losses: 0,
    lossCodes: [],
    deadLocks: 0,
    orphanTemps: 0,
    tempsAfterCheck: 0,
    refreshes: 0,
    checkMs: [],
    killsAt: { send: 0, recv: 0, saved: 0, ok: 0 },
    lossesAt: { send: 0, recv: 0, saved: 0, ok: 0 },
  };
  const logins = join(o.dir, 'logins');
  const temps = async () => (await readdir(logins).catch(() => [])).filter((n) => n.endsWith('.tmp')).length;
  for (let i = 0; i < o.kills; i++) {
    const run = await runAndKill(o, env, random() * o.maxDelayMs);
    figures.kills++;
    figures.killsAt[run.phase]++;
    figures.refreshes += run.refreshes;
    if (run.error) figures.lossCodes.push(`child: ${run.error}`);
    // Only one child runs at a time: a lock still there is the dead child's.
    if (existsSync(join(o.dir, 'locks', 'default.lock'))) figures.deadLocks++;
    if ((await temps()) > 0) figures.orphanTemps++;
    const t0 = performance.now();
    try {
      const signIn = openSignIn(
        {
          profile: 'default',
          tokenStore: o.store ?? 'file',
          idp: {
            issuer: d.issuer,
            clientId: d.clients.native,
            scopes: ['openid', 'email', 'offline_access'],
            redirectPort: 0,
            redirectPath: '/callback',
          },
        },
        { logger: createLogger({ level: 'silent' }), env },
      );
      await signIn.freshIdToken();
    } catch (e) {
      figures.losses++;
      figures.lossesAt[run.phase]++;
      figures.lossCodes.push((e as { code?: string }).code ?? String(e));
      await seed(); // a new login, so the remaining rounds still measure something
    }
    figures.checkMs.push(performance.now() - t0);
    figures.tempsAfterCheck += await temps();
  }
  return figures;
}

/** Starts a refresh loop, kills it -9 `delayMs` after `killAfter`; counts its refreshes. */
function runAndKill(o: KillOptions, env: Record<string, string | undefined>, delayMs: number) {
  const d = o.description;
  const logins = join(o.dir, 'logins');
  const proc = spawn(process.execPath, ['--import', tsx, child], {
    env: {
      PATH: process.env.PATH,
      ...env,
      ISSUER: d.issuer,
      CLIENT_ID: d.clients.native,
      STORE: o.store ?? 'file',
    } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise<{ refreshes: number; phase: Phase; error?: string }>((resolve) => {
    let refreshes = 0;
    let phase: Phase = 'ok';
    let error: string | undefined;
    let buffered = '';
    let armed = false;
    const killOnce = () => {
      if (armed) return;
      armed = true;
      if (delayMs < 1) proc.kill('SIGKILL');
      else setTimeout(() => proc.kill('SIGKILL'), delayMs);
    };
    const watcher = existsSync(logins)
      ? watch(logins, (event, name) => {
          // 'change': written to, not merely created (a kill between open and write leaves it empty).
          if (event !== 'change' || !name?.endsWith('.tmp') || phase !== 'recv') return;
          phase = 'saved';
          if (o.killAfter === 'temp') killOnce();
        })
      : undefined;
    const guard = setTimeout(() => {
      error ??= 'no refresh within 30 s';
      proc.kill('SIGKILL');
    }, 30_000);
    proc.stdout.on('data', (chunk: Buffer) => {
      buffered += String(chunk);
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'send' || line === 'recv') phase = line;
        else if (line.startsWith('ok')) {
          phase = 'ok';
          refreshes++;
          if (o.killAfter !== 'temp') killOnce();
        } else if (line.startsWith('error')) error = line.slice(6);
      }
    });
    proc.on('close', () => {
      clearTimeout(guard);
      watcher?.close();
      resolve({ refreshes, phase, error });
    });
  });
}
