import type { TableRequirement, TableUpdate } from '../metadata';
import type { PartitionSpec, Schema, SortOrder, TableIdent, TableMetadata } from '../spec';

export interface LoadedTable {
  ident: TableIdent;
  metadata: TableMetadata;
  metadataLocation: string;
}

export interface CreateTableRequest {
  schema: Schema;
  spec: PartitionSpec;
  sortOrder: SortOrder;
  properties?: Record<string, string>;
  /** Defaults to `<warehouse>/<namespace path>/<name>` (SQL) or whatever the REST server decides. */
  location?: string;
}

/**
 * The operations K2 needs from an Iceberg catalog. Errors are K2Errors: ICEBERG_NOT_FOUND (not retriable),
 * ICEBERG_COMMIT_CONFLICT (retriable: reload and re-apply), STORAGE_UNAVAILABLE (retriable), STORAGE_REJECTED.
 */
export interface Catalog {
  readonly name: string;
  /** Idempotent. */
  createNamespace(namespace: string[], properties?: Record<string, string>): Promise<void>;
  namespaceExists(namespace: string[]): Promise<boolean>;
  listTables(namespace: string[]): Promise<TableIdent[]>;
  tableExists(ident: TableIdent): Promise<boolean>;
  loadTable(ident: TableIdent): Promise<LoadedTable>;
  /** Throws ICEBERG_COMMIT_CONFLICT when the table already exists (another writer created it first). */
  createTable(ident: TableIdent, req: CreateTableRequest): Promise<LoadedTable>;
  /**
   * Atomically: check `requirements` against the current metadata, apply `updates`, swap the pointer.
   * A lost race throws ICEBERG_COMMIT_CONFLICT and changes nothing.
   */
  commitTable(ident: TableIdent, requirements: TableRequirement[], updates: TableUpdate[]): Promise<LoadedTable>;
  /** Removes the catalog entry (files are left; `purge` deletes nothing here, maintenance does). */
  dropTable(ident: TableIdent): Promise<void>;
  close(): Promise<void>;
}
