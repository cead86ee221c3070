/**
 * @module The sandbox of bench/http-many-users.ts in a process of its own (forked with IPC), so that the
 * server's CPU and heap are its own. It sends its description once started, then answers requests for
 * bearer tokens: { tokens: [offset, count] } → string[] (distinct subjects over the IdC users); { cpu: true }
 * → its CPU so far (µs).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { startSandbox, type Sandbox } from '../tools/sandbox/index.js';

/** Distinct subjects over the sandbox's IdC users (IdC matches by email): each is its own cached user. */
async function tokenFor(sandbox: Sandbox, i: number): Promise<string> {
  const people = sandbox.world.users.filter((u) => u.inIdentityCenter);
  const person = people[i % people.length]!;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: person.email })
    .setProtectedHeader({ alg: 'RS256', kid: sandbox.keys.kid, typ: 'at+jwt' })
    .setIssuer(sandbox.description.issuer)
    .setSubject(`${person.username}-${i}`)
    .setAudience(sandbox.description.mcpResource)
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .setJti(randomUUID())
    .sign(sandbox.keys.signingKey);
}

const sandbox = await startSandbox();
process.on('message', (m: { id: number; tokens?: [number, number]; cpu?: true; stop?: true }) => {
  void (async () => {
    if (m.cpu) {
      const { user, system } = process.cpuUsage();
      process.send!({ id: m.id, value: user + system });
      return;
    }
    if (m.stop) {
      await sandbox.stop();
      process.send!({ id: m.id, value: true }, () => process.exit(0));
      return;
    }
    const [offset, count] = m.tokens!;
    const value = await Promise.all(Array.from({ length: count }, (_, i) => tokenFor(sandbox, offset + i)));
    process.send!({ id: m.id, value });
  })();
});
process.send!({ id: 0, value: sandbox.description });
// The parent's death ends this process too (an orphaned sandbox would keep its ports).
process.on('disconnect', () => void sandbox.stop().finally(() => process.exit(0)));
