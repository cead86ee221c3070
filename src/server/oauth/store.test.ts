import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { kvAdapter } from './adapter.js';
import { createMemoryKv } from './store.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('memory store written through to a sealed file', () => {
  it('keeps values across a restart, sealed: neither names nor values appear in the file, mode 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-'));
    dirs.push(dir);
    const file = join(dir, 'state.json');
    const key = randomBytes(32);
    const kv = createMemoryKv(key, { file });
    await kv.set('RefreshToken:canary-token-id', 'canary-secret-value');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('canary');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await createMemoryKv(key, { file }).get('RefreshToken:canary-token-id')).toBe(
      'canary-secret-value',
    );
    // Another key reads nothing.
    expect(
      await createMemoryKv(randomBytes(32), { file }).get('RefreshToken:canary-token-id'),
    ).toBeUndefined();
  });

  it('expires entries, and a grant revocation deletes all of its tokens', async () => {
    const kv = createMemoryKv(randomBytes(32));
    await kv.set('short', 'v', 0.001);
    await new Promise((r) => setTimeout(r, 10));
    expect(await kv.get('short')).toBeUndefined();
    const Adapter = kvAdapter(kv);
    const rt = new Adapter('RefreshToken');
    const at = new Adapter('AccessToken');
    await rt.upsert('r1', { grantId: 'g1', exp: Math.floor(Date.now() / 1000) + 60 }, 60);
    await at.upsert('a1', { grantId: 'g1' }, 60);
    await at.upsert('a2', { grantId: 'g2' }, 60);
    await rt.consume('r1');
    expect((await rt.find('r1'))?.consumed).toBeTypeOf('number');
    await rt.revokeByGrantId('g1');
    expect(await rt.find('r1')).toBeUndefined();
    expect(await at.find('a1')).toBeUndefined();
    expect(await at.find('a2')).toBeDefined();
  });

  it('runs lock holders one at a time', async () => {
    const kv = createMemoryKv(randomBytes(32));
    const order: string[] = [];
    const hold = (name: string) =>
      kv.withLock('l', async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 5));
        order.push(`${name}-`);
      });
    await Promise.all([hold('a'), hold('b')]);
    expect(order).toEqual(['a+', 'a-', 'b+', 'b-']);
  });
});
