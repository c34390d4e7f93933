export default {
  displayName: 'asx-batch-loader',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/asx-batch-loader',
};
