export default {
  displayName: 'iceberg:integration',
  preset: '../../jest.integration.preset.js',
};
