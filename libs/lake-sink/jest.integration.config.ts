export default {
  displayName: 'lake-sink:integration',
  preset: '../../jest.integration.preset.js',
};
