/**
 * The README's lines that people copy: a summary of the install lines, then the two development lines
 * .ci/run runs; the install section (npm, bundle, registry, container) comes before the development section and
 * its lines agree with package.json, server.json and the Dockerfile.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/ensure-built.js';

const read = async (path: string) => readFile(join(ROOT, path), 'utf8');
const readme = await read('README.md');
const blocks = [...readme.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!);
const section = (title: string) => {
  const start = readme.indexOf(`\n## ${title}\n`);
  return start < 0 ? '' : readme.slice(start, readme.indexOf('\n## ', start + 1));
};

describe('README', () => {
  it('has the two development lines as one block, exactly (.ci/run runs the second), after the install lines', () => {
    const dev = blocks.indexOf('npm ci && npm start\nnpm ci && npm test\n');
    expect(dev).toBeGreaterThan(0);
    const summary = blocks[0]!;
    for (const line of [
      'npm install -g qindex-mcp',
      'npm run bundle',
      'mcp-publisher publish',
      'docker build',
    ])
      expect(summary).toContain(line);
    expect(blocks.slice(0, dev).join('')).not.toContain('npm ci && npm test');
  });

  it('has an install section for npm, the bundle, the registry and the container before Development', async () => {
    const install = section('Install');
    expect(readme.indexOf('\n## Install\n')).toBeLessThan(readme.indexOf('\n## Development\n'));
    const pkg = JSON.parse(await read('package.json')) as {
      name: string;
      mcpName: string;
      scripts: Record<string, string>;
    };
    expect(install).toContain(`npm install -g ${pkg.name}`);
    expect(install).toContain(`npx -y ${pkg.name} serve`);
    expect(install).toContain('npm run bundle');
    expect(pkg.scripts.bundle).toBeDefined();
    expect(install).toContain(pkg.mcpName);
    const dockerfile = await read('Dockerfile');
    const mount = /QINDEX_CONFIG=(\S+)/.exec(dockerfile)![1]!;
    const port = /^EXPOSE (\d+)$/m.exec(dockerfile)![1]!;
    const run = install.split('\n').find((l) => l.startsWith('docker run '))!;
    expect(run).toContain(`:${mount}:ro`);
    expect(run).toContain(`-p 127.0.0.1:${port}:${port}`);
    expect(install).toContain('docker compose up');
  });
});
