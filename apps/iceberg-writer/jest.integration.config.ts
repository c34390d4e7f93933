export default {
  displayName: 'iceberg-writer:integration',
  preset: '../../jest.integration.preset.js',
};
