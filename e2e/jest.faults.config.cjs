const { base } = require('../jest.preset.cjs');

/**
 * The fault-injection suite: restarts NATS and Postgres of its own, and this machine's Docker engine, so it
 * runs alone, after the other end-to-end tests (`nx run @pier/e2e:e2e-faults`).
 */
module.exports = {
  ...base,
  displayName: 'e2e-faults',
  rootDir: __dirname,
  testMatch: ['<rootDir>/src/**/*.faults.spec.ts'],
  setupFilesAfterEnv: [require.resolve('../jest.int-setup.cjs')],
};
