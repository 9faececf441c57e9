// @ts-check
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import jest from 'eslint-plugin-jest';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Imports that pure domain code may never reach for. */
const infrastructureImports = [
  '@nestjs/*',
  'typeorm',
  'pg',
  '@nats-io/*',
  'dockerode',
  'fastify',
  '@pier/eventstore',
  '@pier/messaging',
  '@pier/persistence',
  '@pier/observability',
  '@pier/config',
];

/**
 * Which projects may import which. Production code of a library never reaches for the testing helpers;
 * tests of any project may.
 */
function boundaries({ tests }) {
  const testing = tests ? ['type:testing'] : [];
  return {
    enforceBuildableLibDependency: false,
    allow: [],
    depConstraints: [
      {
        sourceTag: 'type:contracts',
        onlyDependOnLibsWithTags: ['type:contracts', ...testing],
        bannedExternalImports: infrastructureImports,
      },
      {
        sourceTag: 'type:infra',
        onlyDependOnLibsWithTags: ['type:contracts', 'type:infra', ...testing],
        bannedExternalImports: ['@nestjs/*'],
      },
      { sourceTag: 'type:nest', onlyDependOnLibsWithTags: ['type:contracts', 'type:infra', ...testing] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:infra'] },
      {
        // A service never imports another service.
        sourceTag: 'type:service',
        onlyDependOnLibsWithTags: ['type:contracts', 'type:infra', 'type:nest', ...testing],
        notDependOnLibsWithTags: ['type:service'],
      },
      {
        // A host runs services in one process (services/platform); they still talk over NATS only.
        sourceTag: 'type:host',
        onlyDependOnLibsWithTags: ['type:contracts', 'type:infra', 'type:nest', 'type:service', ...testing],
      },
      {
        // End-to-end tests may start services in-process (for span assertions) or as processes.
        sourceTag: 'type:e2e',
        onlyDependOnLibsWithTags: [
          'type:contracts',
          'type:infra',
          'type:nest',
          'type:testing',
          'type:service',
        ],
      },
      {
        // Benchmarks drive the platform from outside, as processes, like the end-to-end tests.
        sourceTag: 'type:bench',
        onlyDependOnLibsWithTags: ['type:contracts', 'type:infra', 'type:testing'],
      },
    ],
  };
}

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.nx/**', '**/coverage/**', '.pier/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      '@nx/enforce-module-boundaries': ['error', boundaries({ tests: false })],
    },
  },
  {
    // Domain code is pure: decisions and state transitions, no I/O.
    files: ['**/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: infrastructureImports,
              message: 'domain/ is pure: no Nest, TypeORM, NATS, Docker or infrastructure libraries.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/test/**/*.ts'],
    plugins: { jest, '@nx': nx },
    languageOptions: { globals: jest.environments.globals.globals },
    rules: {
      '@nx/enforce-module-boundaries': ['error', boundaries({ tests: true })],
      'jest/no-focused-tests': 'error',
      'jest/no-identical-title': 'error',
      'jest/valid-expect': 'error',
      'jest/expect-expect': ['error', { assertFunctionNames: ['expect', 'expectEventually', 'expect*'] }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.cjs', '**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      sourceType: 'commonjs',
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
