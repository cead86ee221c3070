/**
 * @module `npm run demo`: a scripted tour through a real MCP client. Starts the sandbox, then for
 * alice (engineering) and bob (finance, managers) spawns the built `qindex-mcp serve` over stdio
 * with the SDK's Client and asks the same question: each gets the answer their ACLs permit.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, type CallToolResult } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { startSandbox } from './sandbox/index.js';
import { controlClient } from './sandbox/control-client.js';
import { CLI, ensureBuilt } from './ensure-built.js';
import { sandboxConfig } from './sandbox-config.js';

const QUESTION = 'What is the travel reimbursement limit?';
const out = (s = '') => process.stdout.write(`${s}\n`);
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const textOf = (r: CallToolResult) => (r.content[0]?.type === 'text' ? r.content[0].text : '');

async function main() {
  out(bold('qindex-mcp demo: two users, one question, different permitted answers'));
  const [sandbox] = await Promise.all([startSandbox(), ensureBuilt()]);
  const d = sandbox.description;
  const control = controlClient(d.control);
  const dir = await mkdtemp(join(tmpdir(), 'qindex-mcp-demo-'));
  const configPath = join(dir, 'config.json');
  await writeFile(
    configPath,
    JSON.stringify({ ...sandboxConfig(d, 'idc'), tokenStore: 'memory', logging: { level: 'warn' } }),
  );
  out(dim(`sandbox: IdP ${d.issuer}, AWS emulator ${d.awsEndpoint}`));

  const connect = async (username: string) => {
    // Headless sign-in: a refresh token from the sandbox IdP, as a CI job would have one.
    const refreshToken = await control.mintRefreshToken({ username, clientId: d.modes.idc.clientId });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CLI, 'serve', '--config', configPath],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        QINDEX_CONFIG_DIR: join(dir, username),
        QINDEX_REFRESH_TOKEN: refreshToken,
        AWS_ACCESS_KEY_ID: d.modes.idc.baseCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: d.modes.idc.baseCredentials.secretAccessKey,
      },
      stderr: 'ignore',
    });
    const client = new Client({ name: 'qindex-mcp-demo', version: '1.0.0' });
    await client.connect(transport);
    return client;
  };

  try {
    for (const username of ['alice', 'bob']) {
      const user = d.users.find((u) => u.username === username)!;
      out();
      out(bold(`━━ ${username} (${user.groups.join(', ')}) ━━`));
      const client = await connect(username);
      try {
        const who = (await client.callTool({ name: 'whoami', arguments: {} })) as CallToolResult;
        out(dim(textOf(who)));

        out(`\n${bold('search_relevant_content')} "${QUESTION}"`);
        const search = (await client.callTool({
          name: 'search_relevant_content',
          arguments: { query: QUESTION, maxResults: 4 },
        })) as CallToolResult;
        const passages = ((search.structuredContent as { passages?: unknown } | undefined)?.passages ??
          []) as Array<{
          n: number;
          title: string;
          documentId: string;
        }>;
        for (const p of passages) out(`  [${p.n}] ${p.title} ${dim(`(${p.documentId})`)}`);

        out(
          `\n${bold('chat')} "${QUESTION}" ${dim('(streamed: progress notifications as the answer grows)')}`,
        );
        let updates = 0;
        const chat = await client.callTool(
          { name: 'chat', arguments: { message: QUESTION } },
          {
            onprogress: () => {
              updates++;
            },
          },
        );
        out(textOf(chat as CallToolResult).replace(/^/gm, '  '));
        out(dim(`  (${updates} progress notifications before the result)`));

        const other = username === 'alice' ? 'review-bob-berg-2025' : 'review-alice-anders-2025';
        out(`\n${bold('get_document')} ${other} ${dim("(someone else's performance review)")}`);
        const doc = (await client.callTool({
          name: 'get_document',
          arguments: { documentId: other },
        })) as CallToolResult;
        out(`  ${doc.isError ? 'refused: ' : ''}${textOf(doc).split('\n')[0]}`);
      } finally {
        await client.close();
      }
    }
    out();
    out(bold('Same server, same question: each user saw only the documents their groups may read.'));
  } finally {
    await sandbox.stop();
  }
}

await main();
