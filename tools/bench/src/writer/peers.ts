/**
 * The yardsticks of the writer bench, both on the very rows the throughput run committed (its Parquet files):
 *  - the limit: DuckDB alone writing them to Parquet with the writer's own COPY options (parquetCopyOptions), one
 *    sorted file per partition as the writer does, from a table already in DuckDB's memory (no decode, no Kafka,
 *    no catalog);
 *  - a peer: PyIceberg + PyArrow appending them to an Iceberg table (temp SQLite catalog + file warehouse, as
 *    libs/lake-testing uses PyIceberg) in one transaction per writer-commit-sized chunk, one append per day.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { parquetCopyOptions, type NestedField } from '@k2/iceberg';
import { runPython } from '@k2/testing';

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export interface PeerResult {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  bytes: number;
}

export async function duckdbAlone(files: readonly string[], fields: readonly NestedField[], threads = 2): Promise<PeerResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-bench-duckdb-'));
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads), memory_limit: '1GB', autoinstall_known_extensions: 'false' });
  const conn = await db.connect();
  try {
    await conn.run(`CREATE TABLE rows AS SELECT * FROM read_parquet([${files.map(q).join(', ')}])`);
    const parts = (await conn.runAndReadAll(`SELECT DISTINCT CAST("timestamp" AS DATE) AS d, exchange FROM rows ORDER BY 1, 2`)).getRows();
    let rows = 0;
    const t0 = process.hrtime.bigint();
    for (const [i, [day, exchange]] of parts.entries()) {
      const out = path.join(dir, `part-${i}.parquet`);
      await conn.run(
        `COPY (SELECT * FROM rows WHERE CAST("timestamp" AS DATE) = DATE ${q(String(day))} AND exchange = ${q(String(exchange))} ORDER BY symbol, "timestamp") ` +
          `TO ${q(out)} (${parquetCopyOptions(fields)})`,
      );
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    rows = Number((await conn.runAndReadAll('SELECT count(*) FROM rows')).getRows()[0][0]);
    const bytes = fs.readdirSync(dir).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0);
    return { rows, seconds, rowsPerSecond: rows / seconds, bytes };
  } finally {
    conn.closeSync();
    db.closeSync();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const PY_APPEND = String.raw`
import json, sys, tempfile, shutil, time, os
import pyarrow as pa, pyarrow.parquet as pq, pyarrow.compute as pc
from pyiceberg.catalog.sql import SqlCatalog
inp = json.load(sys.stdin)
d = tempfile.mkdtemp(prefix='k2-bench-pyiceberg-')
try:
    table = pa.concat_tables([pq.read_table(f) for f in inp['files']])
    # Field ids of the source files are dropped: PyIceberg assigns its own on create.
    table = table.cast(pa.schema([pa.field(f.name, f.type, f.nullable) for f in table.schema]))
    cat = SqlCatalog('bench', uri='sqlite:///' + os.path.join(d, 'catalog.db'), warehouse='file://' + os.path.join(d, 'warehouse'))
    cat.create_namespace('bench')
    t = cat.create_table('bench.trades', schema=table.schema, properties={'write.parquet.compression-codec': 'zstd'})
    # day(timestamp) needs the pyiceberg-core extra, which the venv does not have: the table is partitioned by
    # exchange and every commit appends each day's rows separately, so files split by (day, exchange) as the
    # writer's do (the partition tuple then lacks the day; the write work is the same).
    with t.update_spec() as u:
        u.add_identity('exchange')
    chunk = inp['chunk']
    t0 = time.perf_counter()
    for i in range(0, table.num_rows, chunk):
        part = table.slice(i, chunk)
        days = pc.floor_temporal(part.column('timestamp'), unit='day')
        with t.transaction() as tx:
            for d in pc.unique(days).to_pylist():
                tx.append(part.filter(pc.equal(days, pa.scalar(d, days.type))))
    seconds = time.perf_counter() - t0
    files = list(t.scan().plan_files())
    print(json.dumps({'rows': table.num_rows, 'seconds': seconds, 'bytes': sum(f.file.file_size_in_bytes for f in files)}))
finally:
    shutil.rmtree(d, ignore_errors=True)
`;

export function pyicebergAppend(files: readonly string[], chunk: number): PeerResult {
  const r = runPython<{ rows: number; seconds: number; bytes: number }>(PY_APPEND, { files, chunk }, 900_000);
  return { ...r, rowsPerSecond: r.rows / r.seconds };
}
