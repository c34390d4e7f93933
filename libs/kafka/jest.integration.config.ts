export default {
  displayName: 'kafka:integration',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.itest.ts'],
  globalSetup: '<rootDir>/../../libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/../../libs/testing/src/global-teardown.ts',
  testTimeout: 180000,
  maxWorkers: 1,
};
