export default {
  displayName: 'kafka:integration',
  preset: '../../jest.integration.preset.js',
};
