import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance, DuckDBUUIDValue, type DuckDBConnection } from '@duckdb/node-api';
import { ErrorCode, FatalError } from '@k2/core';
import type { IcebergType, NestedField, PrimitiveType, Schema } from './spec';
import { decimalScale, serializeValue, truncateLower, truncateUpper, type BoundValue } from './values';

/**
 * Parquet data files written by DuckDB (ADR 0003): zstd, DECIMAL(18,8) as INT64 decimals, TIMESTAMPTZ as
 * TIMESTAMP_MICROS(UTC), and Parquet field ids equal to the Iceberg field ids (list elements included), because
 * Iceberg readers resolve columns by id, not by name.
 *
 * Rows reach DuckDB as CSV text written by us: every value is already exact text (decimal strings, µs integers),
 * DuckDB's CSV reader is multi-threaded and much faster than per-value N-API appends, and no value passes through
 * a JS double on the way. Column bounds and counts come from one aggregate query over the same rows.
 */

/** A row value as the writer takes it: decimal text, bigint for long/timestamptz µs, string[] for list<string>. */
export type RowValue = string | bigint | number | boolean | readonly string[] | null | undefined;

export interface WrittenFile {
  localPath: string;
  recordCount: number;
  fileSizeInBytes: number;
  /** Field id → compressed bytes of its column chunks (spec: data_file `column_sizes`). */
  columnSizes: Map<number, number>;
  valueCounts: Map<number, number>;
  nullValueCounts: Map<number, number>;
  lowerBounds: Map<number, Buffer>;
  upperBounds: Map<number, Buffer>;
}

export interface ParquetWriterOptions {
  tmpDir?: string;
  /** DuckDB worker threads (default 2, the machine's cores). */
  threads?: number;
  memoryLimit?: string;
  rowGroupSize?: number;
}

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const quoteString = (s: string): string => `'${s.replace(/'/g, "''")}'`;

function isPrimitive(t: IcebergType): t is PrimitiveType {
  return typeof t === 'string';
}

function csvColumnType(t: IcebergType): string {
  if (!isPrimitive(t)) return 'VARCHAR';
  if (decimalScale(t) !== undefined) return 'VARCHAR';
  switch (t) {
    case 'long':
    case 'timestamptz':
    case 'timestamp':
      return 'BIGINT';
    case 'int':
      return 'INTEGER';
    case 'date':
      return 'INTEGER';
    case 'boolean':
      return 'BOOLEAN';
    case 'double':
      return 'DOUBLE';
    case 'float':
      return 'FLOAT';
    case 'string':
    case 'uuid':
      return 'VARCHAR';
    default:
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `column type ${t} is not supported by the Parquet writer`);
  }
}

function selectExpr(col: string, t: IcebergType): string {
  const c = quoteIdent(col);
  if (!isPrimitive(t)) {
    if (t.type === 'list' && t.element === 'string') return `from_json(${c}, '["VARCHAR"]')`;
    throw new FatalError(ErrorCode.ICEBERG_INVALID, `nested type ${JSON.stringify(t)} is not supported by the Parquet writer`);
  }
  const scale = decimalScale(t);
  if (scale !== undefined) {
    const precision = /decimal\(\s*(\d+)/.exec(t)![1];
    return `CAST(${c} AS DECIMAL(${precision},${scale}))`;
  }
  switch (t) {
    case 'timestamptz':
      return `CAST(make_timestamp(${c}) AS TIMESTAMPTZ)`;
    case 'timestamp':
      return `make_timestamp(${c})`;
    case 'date':
      return `CAST(DATE '1970-01-01' + ${c} AS DATE)`;
    case 'uuid':
      // DuckDB writes UUID as FIXED_LEN_BYTE_ARRAY(16) with the UUID logical type, the Parquet form the Iceberg
      // spec gives uuid (ADR 0022); text that is not a UUID fails the cast and so the write.
      return `CAST(${c} AS UUID)`;
    default:
      return c;
  }
}

function fieldIdsLiteral(fields: readonly NestedField[]): string {
  const parts = fields.map((f) => {
    const t = f.type;
    if (typeof t !== 'string' && t.type === 'list') return `${quoteString(f.name)}: {__duckdb_field_id: ${f.id}, element: ${t['element-id']}}`;
    return `${quoteString(f.name)}: ${f.id}`;
  });
  return `{${parts.join(', ')}}`;
}

function csvValue(v: RowValue): string {
  if (v === null || v === undefined) return '';
  switch (typeof v) {
    case 'string':
      return v.includes('"') ? `"${v.replace(/"/g, '""')}"` : `"${v}"`;
    case 'bigint':
    case 'number':
      return String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    default: {
      const json = JSON.stringify(v);
      return `"${json.replace(/"/g, '""')}"`;
    }
  }
}

/** Decimal text columns are written unquoted: they are digits, dot and sign only (validated upstream). */
function csvDecimal(v: RowValue): string {
  return v === null || v === undefined ? '' : String(v);
}

/**
 * Rows per Parquet row group. Files are sorted by (symbol, timestamp), so a row group's min/max statistics cover a
 * narrow symbol and time range only when groups are small: at 16k rows a 15-minute read of one symbol decodes one or
 * two groups instead of DuckDB's default 122,880 (measured 16.6 → 6.5 ms for one query on a 167k-row bench file, for
 * 2% more bytes).
 */
export const DEFAULT_ROW_GROUP_SIZE = 16_384;

/**
 * The options of every COPY … TO 'x.parquet' the writer runs (data files and compaction alike), in one place so the
 * file layout is decided here only; the bench's DuckDB-alone run uses it too (ADR 0022, docs/iceberg-writer.md
 * "File layout"). PARQUET_VERSION V2 makes DuckDB write data pages v2 with DELTA_BINARY_PACKED for integers,
 * decimals and timestamps, DELTA_LENGTH_BYTE_ARRAY for strings that miss the dictionary and RLE_DICTIONARY for the
 * rest: 30.3 → 20.0 B/trade on the bench data (600k trades), 25.5 → 24.2 on the real ASX sample; zstd level 9
 * saved 0.05 B more for 30% more time and larger row groups made files bigger, so both stay at their defaults.
 * Iceberg 1.10's vectorized Spark reader refuses the delta strings, hence the lake's tables turn it off (libs/lake).
 */
export function parquetCopyOptions(fields: readonly NestedField[], rowGroupSize: number = DEFAULT_ROW_GROUP_SIZE): string {
  return `FORMAT parquet, PARQUET_VERSION V2, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroupSize}, FIELD_IDS ${fieldIdsLiteral(fields)}`;
}

export class ParquetWriter {
  private seq = 0;

  private constructor(
    private readonly db: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly tmpDir: string,
    private readonly rowGroupSize: number,
  ) {}

  static async create(opts: ParquetWriterOptions = {}): Promise<ParquetWriter> {
    const tmpDir = opts.tmpDir ?? path.join(os.tmpdir(), `k2-parquet-${process.pid}`);
    await fs.mkdir(tmpDir, { recursive: true });
    const db = await DuckDBInstance.create(':memory:', {
      threads: String(opts.threads ?? 2),
      memory_limit: opts.memoryLimit ?? '1GB',
      // Offline machines and pods: never try to download extensions at run time.
      autoinstall_known_extensions: 'false',
    });
    const conn = await db.connect();
    return new ParquetWriter(db, conn, tmpDir, opts.rowGroupSize ?? DEFAULT_ROW_GROUP_SIZE);
  }

  /**
   * Writes `rows` (values in schema field order) to a local Parquet file sorted by `sortBy` column names.
   * Returns the file's path, size and per-column metrics for the manifest.
   */
  async write(schema: Schema, rows: readonly RowValue[][], sortBy: readonly string[] = []): Promise<WrittenFile> {
    const id = `${process.pid}-${++this.seq}-${randomUUID()}`;
    const csvPath = path.join(this.tmpDir, `${id}.csv`);
    const outPath = path.join(this.tmpDir, `${id}.parquet`);
    const fields = schema.fields;
    const encoders = fields.map((f) => (isPrimitive(f.type) && decimalScale(f.type) !== undefined ? csvDecimal : csvValue));
    const table = `t_${this.seq}`;
    try {
      await writeCsv(csvPath, rows, encoders);
      const columns = fields.map((f, i) => `${quoteString(`c${i}`)}: ${quoteString(csvColumnType(f.type))}`).join(', ');
      const select = fields.map((f, i) => `${selectExpr(`c${i}`, f.type)} AS ${quoteIdent(f.name)}`).join(', ');
      await this.conn.run(
        `CREATE TEMP TABLE ${table} AS SELECT ${select} FROM read_csv(${quoteString(csvPath)}, header = false, auto_detect = false, ` +
          `columns = {${columns}}, delim = ',', quote = '"', escape = '"', nullstr = '', allow_quoted_nulls = false, parallel = true)`,
      );
      const order = sortBy.length ? ` ORDER BY ${sortBy.map(quoteIdent).join(', ')}` : '';
      await this.conn.run(
        `COPY (SELECT * FROM ${table}${order}) TO ${quoteString(outPath)} ` +
          `(${parquetCopyOptions(fields, this.rowGroupSize)})`,
      );
      const metrics = await this.metrics(table, fields);
      const size = (await fs.stat(outPath)).size;
      return { localPath: outPath, fileSizeInBytes: size, columnSizes: await this.columnSizes(outPath), ...metrics };
    } catch (e) {
      await fs.rm(outPath, { force: true });
      if (e instanceof FatalError) throw e;
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `writing Parquet failed: ${(e as Error).message}`, { cause: e });
    } finally {
      await this.conn.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await fs.rm(csvPath, { force: true });
    }
  }

  /** Rewrites existing Parquet files (same schema) into one sorted file: the compaction primitive. */
  async rewrite(schema: Schema, inputs: readonly string[], sortBy: readonly string[] = []): Promise<WrittenFile> {
    const id = `${process.pid}-${++this.seq}-${randomUUID()}`;
    const outPath = path.join(this.tmpDir, `${id}.parquet`);
    const table = `t_${this.seq}`;
    try {
      // Old files may predate a column (schema evolution): read by name with union_by_name so it comes back null.
      const list = `[${inputs.map(quoteString).join(', ')}]`;
      const select = schema.fields.map((f) => quoteIdent(f.name)).join(', ');
      await this.conn.run(`CREATE TEMP TABLE ${table} AS SELECT ${select} FROM read_parquet(${list}, union_by_name = true)`);
      const order = sortBy.length ? ` ORDER BY ${sortBy.map(quoteIdent).join(', ')}` : '';
      await this.conn.run(
        `COPY (SELECT * FROM ${table}${order}) TO ${quoteString(outPath)} ` +
          `(${parquetCopyOptions(schema.fields, this.rowGroupSize)})`,
      );
      const metrics = await this.metrics(table, schema.fields);
      const size = (await fs.stat(outPath)).size;
      return { localPath: outPath, fileSizeInBytes: size, columnSizes: await this.columnSizes(outPath), ...metrics };
    } catch (e) {
      await fs.rm(outPath, { force: true });
      throw new FatalError(ErrorCode.ICEBERG_INVALID, `rewriting Parquet failed: ${(e as Error).message}`, { cause: e });
    } finally {
      await this.conn.run(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    }
  }

  /**
   * Values of one string column of local Parquet files (dedup sets); missing columns yield nothing. A uuid column
   * comes back as its canonical lowercase text (the CAST), the same text the records carry.
   */
  async readStringColumn(files: readonly string[], column: string): Promise<string[]> {
    if (files.length === 0) return [];
    const list = `[${files.map(quoteString).join(', ')}]`;
    const reader = await this.conn.runAndReadAll(`SELECT CAST(${quoteIdent(column)} AS VARCHAR) FROM read_parquet(${list})`);
    return reader.getColumns()[0]?.map((v) => String(v)) ?? [];
  }

  get connection(): DuckDBConnection {
    return this.conn;
  }

  async close(): Promise<void> {
    this.conn.closeSync();
    this.db.closeSync();
    await fs.rm(this.tmpDir, { recursive: true, force: true }).catch(() => undefined);
  }

  /**
   * Column sizes from the file's own footer. parquet_metadata numbers the leaf columns in schema order, and
   * parquet_schema lists the same leaves (no children) in that order with their Iceberg field ids; a list's or
   * map's size goes to its element/key/value field, as Java's ParquetUtil does. Readers such as PyIceberg's
   * `inspect.entries()`/`inspect.files()` expect the map to be present.
   */
  private async columnSizes(file: string): Promise<Map<number, number>> {
    const leaves = (await this.conn.runAndReadAll(`SELECT field_id FROM parquet_schema(${quoteString(file)}) WHERE num_children IS NULL`)).getRows();
    const chunks = (await this.conn.runAndReadAll(`SELECT column_id, sum(total_compressed_size) FROM parquet_metadata(${quoteString(file)}) GROUP BY column_id`)).getRows();
    const out = new Map<number, number>();
    for (const [column, bytes] of chunks) {
      const id = leaves[Number(column)]?.[0];
      if (id !== null && id !== undefined) out.set(Number(id), Number(bytes));
    }
    return out;
  }

  private async metrics(table: string, fields: readonly NestedField[]): Promise<Omit<WrittenFile, 'localPath' | 'fileSizeInBytes' | 'columnSizes'>> {
    const stats = fields.filter((f) => isPrimitive(f.type));
    const exprs = ['count(*)'];
    for (const f of stats) {
      const c = quoteIdent(f.name);
      exprs.push(`count(${c})`, `min(${c})`, `max(${c})`);
    }
    const reader = await this.conn.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${table}`);
    const row = reader.getRows()[0];
    const recordCount = Number(row[0] as bigint);
    const valueCounts = new Map<number, number>();
    const nullValueCounts = new Map<number, number>();
    const lowerBounds = new Map<number, Buffer>();
    const upperBounds = new Map<number, Buffer>();
    stats.forEach((f, i) => {
      const nonNull = Number(row[1 + i * 3] as bigint);
      valueCounts.set(f.id, recordCount);
      nullValueCounts.set(f.id, recordCount - nonNull);
      const t = f.type as PrimitiveType;
      const lo = boundOf(row[2 + i * 3]);
      const hi = boundOf(row[3 + i * 3]);
      // Only strings are truncated; a uuid bound is its full 16 bytes.
      const truncates = t === 'string';
      if (lo !== undefined) {
        const v = truncates && typeof lo === 'string' ? truncateLower(lo) : lo;
        lowerBounds.set(f.id, serializeValue(t, v));
      }
      if (hi !== undefined) {
        const v = truncates && typeof hi === 'string' ? truncateUpper(hi) : hi;
        if (v !== undefined) upperBounds.set(f.id, serializeValue(t, v));
      }
    });
    return { recordCount, valueCounts, nullValueCounts, lowerBounds, upperBounds };
  }
}

/** DuckDB value → bound value (decimals as unscaled bigint, timestamps as µs, dates as days). */
function boundOf(v: unknown): BoundValue | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === 'string' || typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof DuckDBUUIDValue) return v.toString();
  const o = v as { micros?: bigint; days?: number; value?: bigint; scale?: number };
  if (o.micros !== undefined) return o.micros;
  if (o.days !== undefined) return o.days;
  if (o.value !== undefined && o.scale !== undefined) return o.value;
  return undefined;
}

async function writeCsv(file: string, rows: readonly RowValue[][], encoders: Array<(v: RowValue) => string>): Promise<void> {
  const fh = await fs.open(file, 'w');
  try {
    const n = encoders.length;
    let chunk: string[] = [];
    let size = 0;
    for (const row of rows) {
      let line = '';
      for (let i = 0; i < n; i++) line += (i ? ',' : '') + encoders[i](row[i]);
      chunk.push(line);
      size += line.length;
      if (size > 4 * 1024 * 1024) {
        await fh.write(chunk.join('\n') + '\n');
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length) await fh.write(chunk.join('\n') + '\n');
  } finally {
    await fh.close();
  }
}
