// ESLint (flat config): @eslint/js's and typescript-eslint's recommended rules over the worker,
// its tests, the bench, the scripts and the model-assets tools. `npm run lint` runs it with
// `prettier --check` (formatting is Prettier's job, so no stylistic rules here).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Node's globals, for the plain JavaScript scripts (TypeScript files are checked by tsc). */
const node = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Blob',
    'Buffer',
    'TextDecoder',
    'TextEncoder',
    'URL',
    'URLSearchParams',
    'clearInterval',
    'clearTimeout',
    'console',
    'crypto',
    'fetch',
    'Headers',
    'performance',
    'process',
    'queueMicrotask',
    'Request',
    'Response',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      'test/.tmp/',
      'bench/.out/',
      '.wrangler/',
      'model-assets/.cache/',
      'model-assets/build/',
    ],
  },
  {
    files: [
      'worker/**/*.ts',
      'test/**/*.{ts,mjs}',
      'bench/**/*.{ts,mjs}',
      'scripts/**/*.mjs',
      'model-assets/tools/**/*.{ts,mjs}',
      '*.{js,ts}',
    ],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: { globals: node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a value left out on purpose (`const { router: _router, ...rest } = body`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
);
