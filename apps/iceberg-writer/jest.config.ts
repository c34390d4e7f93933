export default {
  displayName: 'iceberg-writer',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/iceberg-writer',
};
