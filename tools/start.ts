/**
 * @module `npm start`: starts the sandbox (IdP + AWS emulator), builds the CLI, writes a ready
 * configuration and MCP client config per identity mode, prints how to connect a client and sign in
 * as a sandbox user, then keeps the sandbox running until Ctrl-C or SIGTERM.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSandbox, stopOnSignals, type Sandbox } from './sandbox/index.js';
import { CLI, ROOT, ensureBuilt } from './ensure-built.js';
import { sandboxConfig, type Mode } from './sandbox-config.js';
import type { SandboxDescription } from './sandbox/description.js';

const DEFAULT_PORTS = { idpPort: 47400, awsPort: 47401, controlPort: 47402 };
/** Where the configurations go; tests point it elsewhere so a developer's files stay put. */
const OUT = process.env.QINDEX_SANDBOX_DIR ?? join(ROOT, '.tmp/sandbox');
/** Pinned: the Inspector's flags changed between majors, and the printed line must keep working. */
export const INSPECTOR = '@modelcontextprotocol/inspector@2.12.0';

const ports = () => {
  const port = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
  return {
    idpPort: port('SANDBOX_IDP_PORT', DEFAULT_PORTS.idpPort),
    awsPort: port('SANDBOX_AWS_PORT', DEFAULT_PORTS.awsPort),
    controlPort: port('SANDBOX_CONTROL_PORT', DEFAULT_PORTS.controlPort),
  };
};

/** An earlier `npm start` still running answers /describe on its control port. */
async function earlierSandbox(controlPort: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${controlPort}/describe`, {
      signal: AbortSignal.timeout(2000),
    });
    const d = (await res.json()) as Partial<SandboxDescription>;
    return typeof d.issuer === 'string' ? d.issuer : undefined;
  } catch {
    return undefined;
  }
}

/** Fixed ports make the written files stable across runs; fall back to free ports when taken. */
async function start(): Promise<Sandbox> {
  const wanted = ports();
  try {
    return await startSandbox(wanted);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    const earlier = await earlierSandbox(wanted.controlPort);
    const which = `${wanted.idpPort}-${wanted.controlPort}`;
    process.stderr.write(
      earlier
        ? `An earlier sandbox is still running on ports ${which} (IdP ${earlier}); logins stored against it fail against this one with profile_mismatch.\n` +
            `  Stop it (Ctrl-C in its terminal, or: pkill -f tools/start.ts) and run npm start again.\n` +
            `  Using free ports for now.\n`
        : `Ports ${which} are taken by another program; using free ports instead (set SANDBOX_IDP_PORT, SANDBOX_AWS_PORT, SANDBOX_CONTROL_PORT to choose).\n`,
    );
    return startSandbox();
  }
}

const credentialsFor = (d: SandboxDescription, mode: Mode): Record<string, string> => {
  // IAM federation's first call (AssumeRoleWithWebIdentity) is unsigned: it needs no AWS keys.
  if (mode === 'iam-federation') return {};
  const c = mode === 'idc' ? d.modes.idc.baseCredentials : d.modes.dataAccessor.baseCredentials;
  return { AWS_ACCESS_KEY_ID: c.accessKeyId, AWS_SECRET_ACCESS_KEY: c.secretAccessKey };
};

const MODES: { mode: Mode; server: string; file: string; what: string }[] = [
  { mode: 'idc', server: 'qindex-sandbox', file: 'config.json', what: 'IAM Identity Center (your own app)' },
  {
    mode: 'data-accessor',
    server: 'qindex-sandbox-data-accessor',
    file: 'config.data-accessor.json',
    what: 'ISV data accessor (search only; signed with the ISV’s AWS keys, tenant tagged)',
  },
  {
    mode: 'iam-federation',
    server: 'qindex-sandbox-iam-federation',
    file: 'config.iam-federation.json',
    what: 'IAM federation (no AWS keys needed)',
  },
];

async function main() {
  process.stderr.write('Building the CLI and starting the sandbox…\n');
  const [sandbox] = await Promise.all([start(), ensureBuilt()]);
  stopOnSignals(sandbox);
  const d = sandbox.description;
  await mkdir(OUT, { recursive: true });
  const cli = `node ${CLI}`;
  const mcpServers: Record<string, unknown> = {};
  const sections: string[] = [];
  for (const m of MODES) {
    const file = join(OUT, m.file);
    await writeFile(file, `${JSON.stringify(sandboxConfig(d, m.mode), null, 2)}\n`);
    const env = credentialsFor(d, m.mode);
    mcpServers[m.server] = { command: process.execPath, args: [CLI, 'serve', '--config', file], env };
    const envLine = Object.entries(env)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const claudeEnv = Object.entries(env)
      .map(([k, v]) => `-e ${k}=${v} `)
      .join('');
    sections.push(
      `   ${m.what}:\n` +
        `      ${cli} login --config ${file}\n` +
        (envLine ? `      AWS keys this mode signs with: ${envLine}\n` : '') +
        `      claude mcp add ${m.server} ${claudeEnv}-- ${cli} serve --config ${file}`,
    );
  }
  const mcpPath = join(OUT, 'mcp.json');
  await writeFile(mcpPath, `${JSON.stringify({ mcpServers }, null, 2)}\n`);

  const users = d.users
    .filter((u) => u.inIdentityCenter)
    .map((u) => `${u.username} / ${u.password} (${u.groups.join(', ')})`)
    .join('\n      ');
  const idc = join(OUT, MODES[0]!.file);
  process.stdout.write(`
qindex-mcp sandbox is running (Ctrl-C stops it).
  IdP (OIDC)     ${d.issuer}
  AWS emulator   ${d.awsEndpoint}
  control API    ${d.control}

1. Sign in as a sandbox user (a browser opens the sandbox IdP's login page; --device prints a code instead):
      ${cli} login --config ${idc}
      ${cli} login --device --config ${idc}
   Users / passwords:
      ${users}
   (The sandbox keeps its state in memory: sign in again after restarting it.)

2. Connect an MCP client. A ready config for this run, one server per identity mode, is in
      ${mcpPath}
   Claude Desktop / Cursor / VS Code: copy an entry of mcp.json into the client's MCP settings.
   MCP Inspector (web UI; the second line lists the tools without a browser):
      npx -y ${INSPECTOR} --config ${mcpPath} --server qindex-sandbox
      npx -y ${INSPECTOR} --cli --config ${mcpPath} --server qindex-sandbox --method tools/list

3. Check who the tools act for:
      ${cli} whoami --config ${idc}

Identity modes (each signs in with its own --config; the AWS keys are the sandbox's, not real ones):
${sections.join('\n')}
Scripted tour instead: npm run demo
`);
}

await main();
