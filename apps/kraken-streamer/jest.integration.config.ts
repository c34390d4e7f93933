export default {
  displayName: 'kraken-streamer:integration',
  preset: '../../jest.integration.preset.js',
};
