import type { Logger } from '@k2/core';
import type { FileIO } from '../io/file-io';
import type { Catalog } from './catalog';
import { RestCatalog } from './rest-catalog';
import { SqlCatalog } from './sql-catalog';
import type { SqlDatabaseOptions } from './sql-dialect';

/**
 * Structurally the IcebergCatalogConfig of @k2/storage (libs/storage/src/config.ts), declared here so this library
 * does not depend on the storage library (which is expected to depend on this one).
 */
export type CatalogConfig =
  | { readonly type: 'sql'; readonly uri: string; readonly warehouse: string }
  | { readonly type: 'rest'; readonly uri: string; readonly warehouse: string | undefined };

export interface CreateCatalogOptions {
  /** SQL: `iceberg_tables.catalog_name` (default DEFAULT_SQL_CATALOG_NAME); REST: a label. */
  name?: string;
  logger?: Logger;
  /** REST bearer token. */
  token?: string;
  /** REST request timeout. */
  timeoutMs?: number;
  /** SQL connection settings (SQLite busy timeout, PostgreSQL pool). */
  database?: SqlDatabaseOptions;
}

/** SQL catalogs pick SQLite or PostgreSQL from the URI (see parseSqlUri); REST talks to an Iceberg REST server. */
export function createCatalog(config: CatalogConfig, io: FileIO, opts: CreateCatalogOptions = {}): Catalog {
  if (config.type === 'rest') {
    return new RestCatalog(io, { uri: config.uri, warehouse: config.warehouse, name: opts.name, logger: opts.logger, token: opts.token, timeoutMs: opts.timeoutMs });
  }
  return new SqlCatalog(io, { uri: config.uri, warehouse: config.warehouse, name: opts.name, logger: opts.logger, database: opts.database });
}
