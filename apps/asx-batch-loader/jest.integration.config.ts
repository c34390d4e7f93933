export default {
  displayName: 'asx-batch-loader:integration',
  preset: '../../jest.integration.preset.js',
};
