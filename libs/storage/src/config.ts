import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cfg, optional, type ConfigOf } from '@k2/core';

/**
 * Credentials are optional: without S3_ACCESS_KEY/S3_SECRET_KEY the AWS SDK's default provider chain applies
 * (env, profile, instance/pod role). Path-style addressing defaults to on when S3_ENDPOINT points at a
 * non-AWS store such as MinIO, which typically serves buckets under the path rather than as subdomains.
 */
export interface S3Config {
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly forcePathStyle: boolean;
}

export function s3ConfigSpec() {
  return {
    s3Endpoint: optional(cfg.url({ env: 'S3_ENDPOINT', doc: 'S3-compatible endpoint (MinIO, s3proxy); unset = AWS' })),
    s3AccessKey: optional(cfg.string({ env: 'S3_ACCESS_KEY', secret: true, doc: 'With S3_SECRET_KEY; unset = the AWS default credential chain' })),
    s3SecretKey: optional(cfg.string({ env: 'S3_SECRET_KEY', secret: true, doc: 'With S3_ACCESS_KEY' })),
    s3Region: cfg.string({ env: 'S3_REGION', default: 'us-east-1', pattern: /^[a-z0-9-]+$/, doc: 'S3 region' }),
    s3ForcePathStyle: optional(cfg.bool({ env: 'S3_FORCE_PATH_STYLE', doc: 'Path-style bucket addressing; unset = on when S3_ENDPOINT is set' })),
  };
}

type S3Fields = ConfigOf<ReturnType<typeof s3ConfigSpec>>;

export function s3ConfigProblems(c: S3Fields): string[] {
  return !c.s3AccessKey !== !c.s3SecretKey ? ['S3_ACCESS_KEY and S3_SECRET_KEY must be set together'] : [];
}

export function resolveS3Config(c: S3Fields): S3Config {
  return Object.freeze({
    endpoint: c.s3Endpoint,
    region: c.s3Region,
    accessKeyId: c.s3AccessKey,
    secretAccessKey: c.s3SecretKey,
    forcePathStyle: c.s3ForcePathStyle ?? c.s3Endpoint !== undefined,
  });
}

/**
 * `sql`: a JDBC-style catalog in a local SQLite file, the zero-infrastructure default, in the URI form Iceberg's
 * JdbcCatalog takes (jdbc:sqlite:file:/path). It is a file of its own (lake-catalog.db), not the local REST
 * fixture's catalog.db: the fixture's JVM connection pool holds SQLite locks long enough to starve the writer's
 * commits (SQLITE_BUSY seen under npm start).
 * `rest`: an Iceberg REST catalog (https://iceberg.apache.org/rest-catalog-spec/), which usually decides the
 * warehouse itself, so ICEBERG_WAREHOUSE is only a hint there.
 */
export type IcebergCatalogConfig =
  | { readonly type: 'sql'; readonly uri: string; readonly warehouse: string }
  | { readonly type: 'rest'; readonly uri: string; readonly warehouse: string | undefined };

export function icebergCatalogConfigSpec() {
  return {
    catalog: cfg.oneOf<'sql' | 'rest'>({ env: 'ICEBERG_CATALOG', default: 'sql', values: ['sql', 'rest'], doc: 'Iceberg catalog: a local SQLite JDBC-layout catalog (sql) or an Iceberg REST catalog' }),
    catalogUri: optional(cfg.string({ env: 'ICEBERG_CATALOG_URI', pattern: /^\S+$/, doc: 'sql catalog JDBC URI; unset = jdbc:sqlite:file:.data/iceberg/lake-catalog.db' })),
    warehouse: optional(cfg.string({ env: 'ICEBERG_WAREHOUSE', pattern: /^(file|s3a?):\/\/\S+$/, doc: 'Warehouse root (file:// or s3://); unset = .data/iceberg/warehouse (a hint only for rest)' })),
    restUri: optional(cfg.url({ env: 'ICEBERG_REST_URI', doc: 'REST catalog URL; required with ICEBERG_CATALOG=rest' })),
  };
}

type IcebergFields = ConfigOf<ReturnType<typeof icebergCatalogConfigSpec>>;

export function icebergCatalogProblems(c: IcebergFields): string[] {
  const problems: string[] = [];
  if (c.catalog === 'rest' && !c.restUri) problems.push('ICEBERG_CATALOG=rest requires ICEBERG_REST_URI (e.g. http://127.0.0.1:8181)');
  if (c.catalog === 'sql' && c.restUri) problems.push('ICEBERG_REST_URI is set but ICEBERG_CATALOG=sql; set ICEBERG_CATALOG=rest or unset ICEBERG_REST_URI');
  if (c.catalog === 'rest' && c.catalogUri) problems.push('ICEBERG_CATALOG_URI is only used by ICEBERG_CATALOG=sql; the REST catalog is ICEBERG_REST_URI');
  return problems;
}

/** Local defaults live under `<cwd>/.data/iceberg`; cwd is the repo root under `nx serve` and `npm start`. */
export function resolveIcebergCatalog(c: IcebergFields, cwd: string): IcebergCatalogConfig {
  const data = path.resolve(cwd, '.data/iceberg');
  return Object.freeze(
    c.catalog === 'rest' && c.restUri
      ? { type: 'rest' as const, uri: c.restUri, warehouse: c.warehouse }
      : {
          type: 'sql' as const,
          uri: c.catalogUri ?? `jdbc:sqlite:file:${path.join(data, 'lake-catalog.db')}`,
          warehouse: c.warehouse ?? pathToFileURL(path.join(data, 'warehouse')).href,
        },
  );
}
