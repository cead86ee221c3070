/**
 * Several customer tenants behind one ISV deployment: the tenant claim of the bearer token picks the
 * tenant's data-accessor settings; a user of one tenant never reaches the other's index; a token naming
 * no configured tenant (or none) gets 403.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { signedToken } from './tokens.js';
import { bearerConfig, connect, initializeBody, post, search, startBearerServer } from './harness.js';

const sandbox = useSandbox();
let server: HttpServerHandle;

beforeAll(async () => {
  const [acme, globex] = sandbox().description.modes.dataAccessorTenants;
  const tenant = (t: typeof acme) => ({
    tenantId: t!.tenantId,
    idcApplicationArn: t!.idcApplicationArn,
    applicationId: t!.applicationId,
    retrieverId: t!.retrieverId,
  });
  server = await startBearerServer(
    sandbox(),
    bearerConfig(sandbox(), 'data-accessor', {
      http: {
        tenantClaim: 'https://isv.example/tenant',
        tenants: { acme: tenant(acme), globex: tenant(globex) },
      },
    }),
  );
});
afterAll(async () => {
  await server?.close();
});

const tokenFor = (username: string, tenant?: string) =>
  signedToken(sandbox(), {
    username,
    claims: tenant === undefined ? {} : { 'https://isv.example/tenant': tenant },
  });

const ACME = 'Acme Rocket Sled Safety Procedure';
const GLOBEX = 'Globex Hammock District Site Guide';

describe('HTTP transport, tenants', () => {
  it("serves each tenant's users from that tenant's index only", async () => {
    const [aliceAcme, aliceGlobex, daveGlobex] = await Promise.all([
      tokenFor('alice', 'acme').then((t) => connect(server.url, t)),
      tokenFor('alice', 'globex').then((t) => connect(server.url, t)),
      tokenFor('dave', 'globex').then((t) => connect(server.url, t)),
    ]);
    const results = await Promise.all(
      [aliceAcme, aliceGlobex, daveGlobex].flatMap(({ client }) => [
        search(client, 'Acme rocket sled safety procedure'),
        search(client, 'Globex Hammock District site guide'),
      ]),
    );
    const [aAcme, aGlobex, agAcme, agGlobex, dAcme, dGlobex] = results;
    for (const r of results) expect(r.isError, r.text).toBe(false);
    expect(aAcme!.titles).toContain(ACME);
    expect(aGlobex!.titles).not.toContain(GLOBEX);
    expect(agAcme!.titles).not.toContain(ACME);
    expect(agGlobex!.titles).toContain(GLOBEX);
    expect(dAcme!.titles).not.toContain(ACME);
    expect(dGlobex!.titles).toContain(GLOBEX);

    const who = await daveGlobex.client.callTool({ name: 'whoami', arguments: {} });
    expect(who.structuredContent).toMatchObject({ tenantId: 'tenant-globex', user: { subject: 'dave' } });
    await Promise.all([aliceAcme, aliceGlobex, daveGlobex].map(({ client }) => client.close()));
  });

  it("does not let a user's session be used under another tenant (404)", async () => {
    const acme = await connect(server.url, await tokenFor('alice', 'acme'));
    const res = await post(
      server.url,
      { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} },
      {
        authorization: `Bearer ${await tokenFor('alice', 'globex')}`,
        'mcp-session-id': acme.transport.sessionId!,
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(res.status).toBe(404);
    await acme.client.close();
  });

  it('refuses a token naming an unknown tenant, or none, with 403', async () => {
    for (const tenant of ['initech', '__proto__', undefined]) {
      const res = await post(server.url, initializeBody, {
        authorization: `Bearer ${await tokenFor('alice', tenant)}`,
      });
      expect(res.status, String(tenant)).toBe(403);
      expect(await res.text()).toMatch(/tenant/);
    }
  });
});
