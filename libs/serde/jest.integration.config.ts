export default {
  displayName: 'serde:integration',
  preset: '../../jest.integration.preset.js',
};
