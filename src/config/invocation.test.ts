/** @module Unit tests of the invocation facts: fix-it commands repeat the program and configuration flags. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { commandLine, recordInvocation } from './invocation.js';

afterEach(() => recordInvocation(['node', 'qindex-mcp', 'serve'], { PATH: '' }, 'node'));

describe('commandLine', () => {
  // First: nothing is recorded yet (afterEach then records the plain form again).
  it('is `qindex-mcp <command>` before anything is recorded, the default profile left out', () => {
    expect(commandLine('login', { profile: 'default' })).toBe('qindex-mcp login');
    expect(commandLine('login', { profile: 'work', device: true })).toBe(
      'qindex-mcp login --profile work --device',
    );
  });

  it('repeats `node <script>` and the configuration flags as given, dropping the command-only ones', () => {
    recordInvocation(
      [
        '/usr/bin/node',
        '/abs/dist/src/cli.js',
        'serve',
        '--transport',
        'http',
        '--config',
        'x.json',
        '--profile=work',
        '--token-store',
        'file',
        '--log-level',
        'debug',
      ],
      { PATH: '/usr/bin' },
      'node',
    );
    expect(commandLine('login')).toBe(
      `node /abs/dist/src/cli.js login --config ${resolve('x.json')} --profile work --token-store file`,
    );
    // A remedy naming another profile replaces the one given, in its place.
    expect(commandLine('login', { profile: 'other', device: true })).toBe(
      `node /abs/dist/src/cli.js login --config ${resolve('x.json')} --profile other --token-store file --device`,
    );
  });

  it('turns QINDEX_CONFIG and QINDEX_PROFILE into flags: the terminal lacks the MCP client env', () => {
    recordInvocation(
      ['/usr/bin/node', '/opt/q/cli.js', 'serve'],
      { QINDEX_CONFIG: '/etc/q.json', QINDEX_PROFILE: 'p' },
      '/usr/bin/node',
    );
    expect(commandLine('whoami')).toBe('/usr/bin/node /opt/q/cli.js whoami --config /etc/q.json --profile p');
  });

  it('names the program qindex-mcp when PATH finds this same file, else by its path or through npx', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qindex-bin-'));
    await writeFile(join(dir, 'qindex-mcp'), '');
    recordInvocation(['node', join(dir, 'qindex-mcp'), 'serve'], { PATH: `/usr/bin:${dir}` }, 'node');
    expect(commandLine('login')).toBe('qindex-mcp login');
    recordInvocation(['node', join(dir, 'qindex-mcp'), 'serve'], { PATH: '/usr/bin' }, 'node');
    expect(commandLine('login')).toBe(`${join(dir, 'qindex-mcp')} login`);
    recordInvocation(['node', join(dir, 'qindex-mcp'), 'serve'], { npm_command: 'exec' }, 'node');
    expect(commandLine('login')).toBe('npx qindex-mcp login');
  });

  it('quotes words a shell would split', () => {
    recordInvocation(
      ['node', '/Users/Jo Doe/q/dist/src/cli.js', 'serve', '--config', "/tmp/it's.json"],
      {},
      'node',
    );
    expect(commandLine('login')).toBe(
      `node '/Users/Jo Doe/q/dist/src/cli.js' login --config '/tmp/it'\\''s.json'`,
    );
  });
});
