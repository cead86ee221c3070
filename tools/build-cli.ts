/**
 * @module The CLI bundle, the second half of `npm run build` (after tsc): esbuild bundles src/cli.ts
 * and what it imports into dist/src/cli.js (over tsc's), with each lazily imported command and stack
 * (doctor, login, the HTTP transport, the sign-in/identity/AWS stack the stdio server loads after its
 * handshake) in its own chunk under dist/src/chunks/. One file read instead of hundreds is most of
 * what separates a start of `serve` from that of a minimal MCP server. Kept outside: native addons and
 * packages that read files beside their own code.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';

/**
 * @napi-rs/keyring loads a native addon; `open` runs the xdg-open script it ships; oidc-provider reads
 * its own package files; @opentelemetry/api is the one instance an operator's OTel preload registers with.
 */
export const EXTERNAL = ['@napi-rs/keyring', 'open', 'oidc-provider', '@opentelemetry/api'];

export async function buildCli(root: string): Promise<void> {
  const outdir = join(root, 'dist/src');
  await rm(join(outdir, 'chunks'), { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: { cli: 'src/cli.ts' },
    outdir,
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.11',
    external: EXTERNAL,
    // Bundled CommonJS packages call require() for Node's built-ins: give the ES module one.
    banner: {
      js: "import { createRequire as __qindexRequire } from 'node:module'; const require = __qindexRequire(import.meta.url);",
    },
    // Not minified: stack traces stay readable, and each import stays a statement of its own line
    // (test/release/package.test.ts reads them).
    legalComments: 'none',
    logLevel: 'warning',
  });
}

if (import.meta.url === `file://${process.argv[1]}`) await buildCli(process.cwd());
