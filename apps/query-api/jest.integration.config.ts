export default {
  displayName: 'query-api:integration',
  preset: '../../jest.integration.preset.js',
};
