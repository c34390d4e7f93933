export default {
  displayName: 'exchange-simulator',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/tools/exchange-simulator',
};
