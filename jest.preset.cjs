/**
 * Shared Jest settings. Every project splits its tests into two Jest projects:
 * `unit` (`*.spec.ts`, pure) and `int` (`*.int.spec.ts`, real NATS/Postgres/Docker).
 * Tests read library sources through the `@pier/source` export condition.
 */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

/**
 * Dependencies Jest must transform: Nest 12 and its ESM-only dependencies, and OpenTelemetry's OTLP
 * exporter, whose `import('http')` Jest's CommonJS runtime cannot execute untransformed.
 */
const transformed = [
  '@opentelemetry',
  '@nestjs',
  'file-type',
  'strtok3',
  'token-types',
  'peek-readable',
  'uint8array-extras',
  '@tokenizer',
  'load-esm',
];

const base = {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['@pier/source', 'node', 'require', 'default'] },
  transform: { '^.+\\.(t|j|mj)s$': swc },
  transformIgnorePatterns: [`/node_modules/(?!(${transformed.join('|')})/)`],
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
};

/** Builds the config of one project: `rootDir` is the project's folder. */
function projectConfig(rootDir) {
  return {
    rootDir,
    projects: [
      {
        ...base,
        displayName: 'unit',
        rootDir,
        testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts'],
        testPathIgnorePatterns: ['\\.int\\.spec\\.ts$', '/dist/'],
      },
      {
        ...base,
        displayName: 'int',
        rootDir,
        testMatch: ['<rootDir>/src/**/*.int.spec.ts', '<rootDir>/test/**/*.int.spec.ts'],
        testPathIgnorePatterns: ['/dist/'],
        setupFilesAfterEnv: [require.resolve('./jest.int-setup.cjs')],
      },
    ],
  };
}

module.exports = { base, projectConfig, swcOptions: swc[1] };
