// The pipeline run (short profile in `npm test`, K2_E2E_PROFILE=long via `npm run test:e2e`) can take many minutes.
export default {
  displayName: 'e2e:integration',
  preset: '../../jest.integration.preset.js',
  testTimeout: 3_600_000,
};
