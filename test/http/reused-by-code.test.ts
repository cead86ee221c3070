/**
 * Bearer mode turns a tool call into 401 invalid_token only when the credential exchange was refused as
 * a reused assertion (code `assertion_reused`, src/identity's isReusedAssertion): a Q error whose words
 * merely mention "reused" stays the tool's own error result, since a fresh token would not help it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useSandbox } from '../helpers/sandbox.js';
import { controlClient } from '../../tools/sandbox/control-client.js';
import type { HttpServerHandle } from '../../src/server/http/app.js';
import { bearerConfig, post, startBearerServer } from './harness.js';

const sandbox = useSandbox();
const control = () => controlClient(sandbox().description.control);
let server: HttpServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  await control().reset();
});

const searchCall = {
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: { name: 'search_relevant_content', arguments: { query: 'vpn' } },
};

async function callSearch(token: string) {
  const res = await post(server!.url, searchCall, {
    authorization: `Bearer ${token}`,
    'mcp-protocol-version': '2025-06-18',
  });
  const body = await res.text();
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body };
}

describe('HTTP bearer mode, reused assertions by code', () => {
  it('a Q refusal that says "reused" is a tool error, not 401 invalid_token', async () => {
    server = await startBearerServer(
      sandbox(),
      bearerConfig(sandbox(), 'data-accessor', { http: { stateless: true } }),
    );
    const token = await control().mintAccessToken({
      username: 'alice',
      clientId: sandbox().description.clients.isv,
    });
    await control().setFault('qbusiness:SearchRelevantContent', {
      error: {
        code: 'ValidationException',
        message: 'The pagination token was reused with another query.',
        status: 400,
        count: 1,
      },
    });
    const answer = await callSearch(token);
    expect(answer.status, answer.body).toBe(200);
    expect(answer.challenge).toBeNull();
    expect(answer.body).toContain('"isError":true');
    expect(answer.body).toContain('reused with another query');
    // The same token still serves the next call: nothing was refused at the exchange.
    const next = await callSearch(token);
    expect(next.status).toBe(200);
    expect(next.body).not.toContain('"isError":true');
  });
});
