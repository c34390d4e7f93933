export default {
  displayName: 'kraken-streamer',
  preset: '../../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../../coverage/apps/kraken-streamer',
};
