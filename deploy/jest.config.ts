export default {
  displayName: 'deploy',
  preset: '../jest.preset.js',
  testMatch: ['<rootDir>/src/**/*.spec.ts'],
  coverageDirectory: '../coverage/deploy',
  // Renders and validators run external tools (kustomize, promtool); give them time.
  testTimeout: 120000,
};
