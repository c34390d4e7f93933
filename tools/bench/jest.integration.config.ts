// Benchmarks in their smallest configuration against the real local infrastructure (isolation from the platform).
export default {
  displayName: 'bench:integration',
  preset: '../../jest.integration.preset.js',
  testTimeout: 600_000,
};
