const { base } = require('../jest.preset.cjs');

/** The whole platform: built services as real processes, real NATS, Postgres and Docker. */
module.exports = {
  ...base,
  displayName: 'e2e',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.e2e.spec.ts'],
  setupFilesAfterEnv: [require.resolve('../jest.int-setup.cjs')],
};
