/**
 * The layering lint rule (eslint.config.js) refuses an import that runs back up the layers
 * (config → auth → identity → q → tools → server → cli) and any import of the sandbox or tests,
 * and allows the downward ones the product uses.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function violations(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: file });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering lint rule', () => {
  it.each([
    ['src/config/load.ts', "import { x } from '../auth/index.js';"],
    ['src/auth/store/file.ts', "import { x } from '../../identity/index.js';"],
    ['src/identity/chain.ts', "import { x } from '../q/client.js';"],
    ['src/q/client.ts', "import { x } from '../tools/shapes.js';"],
    ['src/tools/chat.ts', "import { x } from '../server/mcp.js';"],
    ['src/server/http/app.ts', "import { x } from '../../cli/index.js';"],
    ['src/errors.ts', "import { x } from './config/schema.js';"],
    ['src/telemetry/metrics.ts', "import { x } from '../config/schema.js';"],
    ['src/q/client.ts', "import { x } from '../../tools/sandbox/index.js';"],
  ])('%s may not run %s', async (file, source) => {
    const messages = await violations(file, `${source}\nexport const y = x;\n`);
    expect(messages.length).toBeGreaterThan(0);
    for (const m of messages) expect(m).toMatch(/move the shared piece down|never imports the sandbox/);
  });

  it.each([
    ['src/auth/index.ts', "import { x } from '../config/schema.js';"],
    ['src/q/client.ts', "import { x } from '../identity/index.js';"],
    ['src/server/http/app.ts', "import { x } from '../../tools/context.js';"],
    ['src/cli/serve.ts', "import { x } from '../server/stdio.js';"],
    ['src/tools/chat.ts', "import { x } from './shapes.js';"],
    ['src/config/load.ts', "import { x } from '../telemetry/metrics.js';"],
    ['src/telemetry/audit.ts', "import { x } from '../errors.js';"],
  ])('%s may run %s', async (file, source) => {
    expect(await violations(file, `${source}\nexport const y = x;\n`)).toEqual([]);
  });
});
