/**
 * @module Generates schema/config.schema.json, the published JSON Schema of the configuration file,
 * from the zod schema (src/config/schema.ts), and the settings table of docs/configuration.md. Run
 * `npm run gen:schema` after changing the schema or the settings; a test fails when either is stale.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { z } from 'zod';
import { ConfigSchema } from '../src/config/schema.js';
import { CONFIGURATION_DOC, writeConfigurationDoc } from './config-docs.js';

export const SCHEMA_PATH = fileURLToPath(new URL('../schema/config.schema.json', import.meta.url));

/** The JSON Schema text, exactly as committed (input side: fields with defaults are optional). */
export async function configSchemaText(): Promise<string> {
  const schema = z.toJSONSchema(ConfigSchema, { io: 'input', target: 'draft-2020-12' });
  const published = {
    ...schema,
    title: 'qindex-mcp configuration',
    description:
      'Configuration file of qindex-mcp (config.json in the user config directory, or --config PATH). See docs/configuration.md.',
  };
  // Formatted as the repository's prettier would, so `prettier --check .` agrees with the generator.
  const options = (await prettier.resolveConfig(SCHEMA_PATH)) ?? {};
  return prettier.format(JSON.stringify(published), { ...options, parser: 'json' });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(SCHEMA_PATH, await configSchemaText());
  process.stderr.write(`wrote ${SCHEMA_PATH}\n`);
  // The settings table of docs/configuration.md comes from the same settings (tools/config-docs.ts).
  await writeConfigurationDoc();
  process.stderr.write(`wrote ${CONFIGURATION_DOC}\n`);
}
