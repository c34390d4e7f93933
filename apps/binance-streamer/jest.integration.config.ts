export default {
  displayName: 'binance-streamer:integration',
  preset: '../../jest.integration.preset.js',
};
