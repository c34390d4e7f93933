// Integration projects: *.itest.ts against the real local infrastructure, started once by the global setup.
const path = require('node:path');
const base = require('./jest.preset.js');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/src/**/*.itest.ts'],
  globalSetup: path.join(__dirname, 'libs/testing/src/global-setup.ts'),
  globalTeardown: path.join(__dirname, 'libs/testing/src/global-teardown.ts'),
  testTimeout: 180000,
  maxWorkers: 1,
};
