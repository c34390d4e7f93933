import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { oneLine, parseAnswer, records } from './spark-sql';

const SCRIPT = path.join(__dirname, '..', 'spark.sh');

/** spark.sh's settings for an environment (no JVM: `conf` only prints them). */
function conf(env: Record<string, string>): Map<string, string> {
  const out = execFileSync('bash', [SCRIPT, 'conf'], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp', ...env }, encoding: 'utf8' });
  return new Map(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
}

describe('the --serve protocol', () => {
  it('sends a statement as one line without comments or a trailing semicolon', () => {
    expect(oneLine('SELECT 1 -- one\n  FROM t;\n')).toBe('SELECT 1 FROM t');
    expect(() => oneLine(' -- nothing\n')).toThrow('empty SQL statement');
  });

  it('parses answers and keys rows by column', () => {
    const a = parseAnswer('{"ok":true,"columns":["price","n"],"rows":[["60000.12345678","3"]],"ms":4}');
    expect(a.ok && records(a)).toEqual([{ price: '60000.12345678', n: '3' }]);
    expect(parseAnswer('{"ok":false,"error":"AnalysisException: x"}')).toEqual({ ok: false, error: 'AnalysisException: x' });
    expect(() => parseAnswer('{"ready":true}')).toThrow('not a driver answer');
  });
});

describe('spark.sh', () => {
  it('answers --help without starting anything', () => {
    const help = execFileSync('bash', [SCRIPT, '--help'], { encoding: 'utf8' });
    expect(help).toContain('npm run spark --');
    expect(help).toContain('ICEBERG_CATALOG_URI');
  });

  it("configures the SQL catalog `npm start` uses by default, as Spark's default catalog", () => {
    const c = conf({ K2_STATE_DIR: '/srv/k2' });
    expect(c.get('spark.master')).toBe('local[2]');
    expect(c.get('spark.sql.defaultCatalog')).toBe('rest_backend');
    expect(c.get('spark.sql.catalog.rest_backend')).toBe('org.apache.iceberg.spark.SparkCatalog');
    expect(c.get('spark.sql.catalog.rest_backend.type')).toBe('jdbc');
    expect(c.get('spark.sql.catalog.rest_backend.uri')).toBe('jdbc:sqlite:file:/srv/k2/iceberg/lake-catalog.db');
    expect(c.get('spark.sql.catalog.rest_backend.warehouse')).toBe('file:///srv/k2/iceberg/warehouse');
    expect(c.get('spark.sql.catalog.rest_backend.default-namespace')).toBe('market_data');
    expect(c.get('spark.sql.catalog.rest_backend.s3.path-style-access')).toBe('true');
  });

  it('turns a postgresql:// catalog URI into the JDBC URI and credentials', () => {
    const c = conf({ ICEBERG_CATALOG_URI: 'postgresql://k2:s3cret@db:5433/k2_catalog', ICEBERG_CATALOG_NAME: 'k2', ICEBERG_WAREHOUSE: 's3://lake/wh' });
    expect(c.get('spark.sql.catalog.k2.uri')).toBe('jdbc:postgresql://db:5433/k2_catalog');
    expect(c.get('spark.sql.catalog.k2.jdbc.user')).toBe('k2');
    expect(c.get('spark.sql.catalog.k2.jdbc.password')).toBe('s3cret');
    expect(c.get('spark.sql.catalog.k2.warehouse')).toBe('s3://lake/wh');
  });

  it('configures the REST catalog without a warehouse of its own', () => {
    const c = conf({ ICEBERG_CATALOG: 'rest', ICEBERG_REST_URI: 'http://catalog:8181' });
    expect(c.get('spark.sql.catalog.rest_backend.type')).toBe('rest');
    expect(c.get('spark.sql.catalog.rest_backend.uri')).toBe('http://catalog:8181');
    expect(c.has('spark.sql.catalog.rest_backend.warehouse')).toBe(false);
  });

  it('refuses a catalog kind it does not know, with the reason', () => {
    expect(() => execFileSync('bash', [SCRIPT, 'conf'], { env: { PATH: process.env['PATH'] ?? '', ICEBERG_CATALOG: 'hive' }, encoding: 'utf8', stdio: 'pipe' })).toThrow(/ICEBERG_CATALOG must be sql or rest/);
  });
});
