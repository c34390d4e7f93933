// The smoke test runs `npm start` twice; the first start on a fresh machine also builds the five apps.
export default {
  displayName: 'launcher:integration',
  preset: '../../jest.integration.preset.js',
  testTimeout: 900_000,
};
