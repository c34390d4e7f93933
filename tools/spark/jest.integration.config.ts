// One Spark JVM for the suite (SparkSql, the driver's --serve mode); its first start on a fresh machine also
// resolves the jars, which setup.sh normally did already.
export default {
  displayName: 'spark:integration',
  preset: '../../jest.integration.preset.js',
  testTimeout: 600_000,
};
