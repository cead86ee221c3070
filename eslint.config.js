// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', '.tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    // stdout is the JSON-RPC channel in stdio mode: the product logs through its stderr logger only.
    files: ['src/**/*.ts'],
    rules: { 'no-console': ['error', { allow: ['error', 'warn'] }] },
  },
  ...layering(),
);

/**
 * The product's layers, lowest first: each may import only from layers before it (and from the shared
 * src/errors.ts, src/log.ts and src/telemetry/). A newcomer can trust that nothing below reaches back up.
 */
function layering() {
  const layers = ['config', 'auth', 'identity', 'q', 'tools', 'server', 'cli'];
  // The sandbox and the tests are development tools: the product never imports them.
  const devOnly = { regex: '(^|/)(sandbox|test)/', message: 'src/ never imports the sandbox or the tests.' };
  const above = (i) => layers.slice(i + 1);
  const rule = (names, layer) => ({
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          devOnly,
          ...(names.length
            ? [
                {
                  // Relative paths only: a product import that climbs to src/<layer>/.
                  regex: `^\\.\\.?/(\\.\\./)*(${names.join('|')})(/|\\.js$)`,
                  message: `${layer} sits below ${names.join(', ')} (config → auth → identity → q → tools → server → cli): move the shared piece down instead of importing upward.`,
                },
              ]
            : []),
        ],
      },
    ],
  });
  return [
    {
      files: ['src/errors.ts', 'src/log.ts', 'src/telemetry/**/*.ts'],
      rules: rule(layers, 'the shared base (errors, log, telemetry)'),
    },
    ...layers.map((layer, i) => ({ files: [`src/${layer}/**/*.ts`], rules: rule(above(i), layer) })),
  ];
}
