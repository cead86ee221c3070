/**
 * @module `npm start`: starts the sandbox (IdP + AWS emulator), builds the CLI, writes a ready
 * configuration and MCP client config for it, prints how to connect a client and sign in as a
 * sandbox user, then keeps the sandbox running until Ctrl-C.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandbox, stopOnSignals, type Sandbox } from './sandbox/index.js';
import { CLI, ROOT, ensureBuilt } from './ensure-built.js';
import { sandboxConfig, type Mode } from './sandbox-config.js';

const DEFAULT_PORTS = { idpPort: 47400, awsPort: 47401, controlPort: 47402 };
const OUT = join(ROOT, '.tmp/sandbox');

/** Fixed ports make the written files stable across runs; fall back to free ports when taken. */
async function start(): Promise<Sandbox> {
  const port = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
  try {
    return await startSandbox({
      idpPort: port('SANDBOX_IDP_PORT', DEFAULT_PORTS.idpPort),
      awsPort: port('SANDBOX_AWS_PORT', DEFAULT_PORTS.awsPort),
      controlPort: port('SANDBOX_CONTROL_PORT', DEFAULT_PORTS.controlPort),
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    process.stderr.write('Default sandbox ports are taken; using free ports instead.\n');
    return startSandbox();
  }
}

async function main() {
  process.stderr.write('Building the CLI and starting the sandbox…\n');
  const [sandbox] = await Promise.all([start(), ensureBuilt()]);
  const d = sandbox.description;
  await mkdir(OUT, { recursive: true });
  const files: Record<Mode, string> = {
    idc: join(OUT, 'config.json'),
    'data-accessor': join(OUT, 'config.data-accessor.json'),
    'iam-federation': join(OUT, 'config.iam-federation.json'),
  };
  for (const mode of Object.keys(files) as Mode[]) {
    await writeFile(files[mode], `${JSON.stringify(sandboxConfig(d, mode), null, 2)}\n`);
  }
  const env = {
    AWS_ACCESS_KEY_ID: d.modes.idc.baseCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: d.modes.idc.baseCredentials.secretAccessKey,
  };
  const mcpJson = {
    mcpServers: {
      'qindex-sandbox': { command: process.execPath, args: [CLI, 'serve', '--config', files.idc], env },
    },
  };
  const mcpPath = join(OUT, 'mcp.json');
  await writeFile(mcpPath, `${JSON.stringify(mcpJson, null, 2)}\n`);

  const cli = `node ${CLI}`;
  const users = d.users
    .filter((u) => u.inIdentityCenter)
    .map((u) => `${u.username} / ${u.password} (${u.groups.join(', ')})`)
    .join('\n      ');
  const envPrefix = `AWS_ACCESS_KEY_ID=${env.AWS_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${env.AWS_SECRET_ACCESS_KEY}`;
  process.stdout.write(`
qindex-mcp sandbox is running (Ctrl-C stops it).
  IdP (OIDC)     ${d.issuer}
  AWS emulator   ${d.awsEndpoint}
  control API    ${d.control}

1. Sign in as a sandbox user (a browser opens the sandbox IdP's login page; --device prints a code instead):
      ${cli} login --config ${files.idc}
   Users / passwords:
      ${users}
   (The sandbox keeps its state in memory: sign in again after restarting it.)

2. Connect an MCP client. A ready config for this run is in
      ${mcpPath}
   Claude Code:
      claude mcp add qindex-sandbox -e AWS_ACCESS_KEY_ID=${env.AWS_ACCESS_KEY_ID} -e AWS_SECRET_ACCESS_KEY=${env.AWS_SECRET_ACCESS_KEY} -- ${cli} serve --config ${files.idc}
   Claude Desktop / Cursor / VS Code: copy the "qindex-sandbox" entry of mcp.json into the client's MCP settings.
   MCP Inspector:
      ${envPrefix} npx @modelcontextprotocol/inspector ${cli} serve --config ${files.idc}

3. Check who the tools act for:
      ${cli} whoami --config ${files.idc}

Other identity modes: ${files['data-accessor']} (ISV data accessor: search only),
  ${files['iam-federation']} (IAM federation). Sign in to each with its own --config.
Scripted tour instead: npm run demo
`);

  stopOnSignals(sandbox);
}

await main();
