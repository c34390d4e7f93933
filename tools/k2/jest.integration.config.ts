// k2.itest.ts: the real query-api over a table the real writer commits, the CLI as a child process.
export default {
  displayName: 'k2:integration',
  preset: '../../jest.integration.preset.js',
};
