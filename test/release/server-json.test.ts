/**
 * server.json, the MCP Registry entry, against the registry's schema 2025-12-11 (vendored as
 * schema/server.schema.json from modelcontextprotocol/registry internal/validators/schemas/2025-12-11.json,
 * commit e361b5ff: CI has no internet). The registry's ownership checks need package.json's mcpName
 * (npm) and the image label (OCI) to equal its name; every variable it lists is one qindex-mcp reads.
 * package.test.ts launches the installed package exactly as it describes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/ensure-built.js';

// ajv-formats is CommonJS: its default export is the function itself under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

const read = async (path: string) => readFile(join(ROOT, path), 'utf8');
const schema = JSON.parse(await read('schema/server.schema.json')) as { $id: string };
const server = JSON.parse(await read('server.json')) as ServerJson;
const pkg = JSON.parse(await read('package.json')) as { name: string; version: string; mcpName: string };

interface ServerJson {
  $schema: string;
  name: string;
  version: string;
  description: string;
  packages: Array<{
    registryType: string;
    registryBaseUrl?: string;
    identifier: string;
    version?: string;
    environmentVariables?: Array<{ name: string; isSecret?: boolean }>;
  }>;
}

function validator() {
  const ajv = new Ajv({ allErrors: true });
  // The registry's schema annotates with OpenAPI's `example`; it constrains nothing.
  ajv.addKeyword('example');
  addFormats(ajv);
  return ajv.compile(schema);
}

describe('server.json (MCP Registry)', () => {
  it('is valid against the registry schema it names (2025-12-11)', () => {
    expect(server.$schema).toBe(
      'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json',
    );
    expect(schema.$id).toBe(server.$schema);
    const validate = validator();
    expect(validate(server), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // The validator does check: the registry's 100-character description limit.
    expect(validate({ ...server, description: 'x'.repeat(101) })).toBe(false);
    expect(validate({ ...server, packages: [{ ...server.packages[0], version: 'latest' }] })).toBe(false);
  });

  it("names the package as package.json does: mcpName, version, and the npm package's own name", () => {
    expect(server.name).toBe(pkg.mcpName);
    expect(server.version).toBe(pkg.version);
    const npm = server.packages.find((p) => p.registryType === 'npm');
    expect(npm).toMatchObject({
      identifier: pkg.name,
      version: pkg.version,
      registryBaseUrl: 'https://registry.npmjs.org',
    });
  });

  it('lists only variables qindex-mcp (or the AWS SDK) reads, with the secrets marked secret', async () => {
    const source = await sourceText(join(ROOT, 'src'));
    const variables = server.packages.flatMap((p) => p.environmentVariables ?? []);
    expect(variables.length).toBeGreaterThan(0);
    for (const { name } of variables) {
      if (name.startsWith('AWS_')) continue;
      expect(new RegExp(`\\b${name}\\b`).test(source), `${name} is not read anywhere in src/`).toBe(true);
    }
    const secret = (name: string) => variables.find((v) => v.name === name)?.isSecret;
    expect(secret('QINDEX_REFRESH_TOKEN')).toBe(true);
    expect(secret('AWS_SECRET_ACCESS_KEY')).toBe(true);
  });

  it("the container image carries the label the registry's OCI ownership check reads", async () => {
    expect(await read('Dockerfile')).toContain(`LABEL io.modelcontextprotocol.server.name="${server.name}"`);
  });
});

async function sourceText(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) text += await sourceText(path);
    else if (entry.name.endsWith('.ts')) text += await readFile(path, 'utf8');
  }
  return text;
}
