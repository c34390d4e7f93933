/**
 * File layout figures of the writer bench: the committed Parquet files of a run (found under its file warehouse)
 * and their compressed bytes per column and per row, from the files' own footers (DuckDB parquet_metadata), plus
 * the real ASX sample's trades (data/asx-sample, mapped by the ASX loader's own TradeMapper) for the same table.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { ExchangeClock, parseCompanyInfo, sourceIdentity, TradeMapper, DEFAULT_CURRENCY } from '@k2/asx';
import { nowMicros, type TradeV2 } from '@k2/schema';

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Every .parquet file under a file:// warehouse (one table per run here). */
export function parquetFiles(warehouse: string): string[] {
  const root = fileURLToPath(warehouse);
  const out: string[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.parquet')) out.push(p);
    }
  };
  walk(root);
  return out.sort();
}

export interface ColumnBytes {
  column: string;
  bytes: number;
  bytesPerRow: number;
  encodings: string;
}

export interface Layout {
  rows: number;
  files: number;
  fileBytes: number;
  bytesPerRow: number;
  columns: ColumnBytes[];
}

export async function layoutOf(files: readonly string[]): Promise<Layout> {
  const db = await DuckDBInstance.create(':memory:', { threads: '1', autoinstall_known_extensions: 'false' });
  const conn = await db.connect();
  try {
    const list = `[${files.map(q).join(', ')}]`;
    const rows = Number((await conn.runAndReadAll(`SELECT count(*) FROM read_parquet(${list})`)).getRows()[0][0]);
    const fileBytes = files.reduce((s, f) => s + fs.statSync(f).size, 0);
    const cols = (
      await conn.runAndReadAll(
        `SELECT path_in_schema, sum(total_compressed_size)::BIGINT, string_agg(DISTINCT encodings, ' | ' ORDER BY encodings) FROM parquet_metadata(${list}) GROUP BY 1 ORDER BY 2 DESC, 1`,
      )
    ).getRows();
    return {
      rows,
      files: files.length,
      fileBytes,
      bytesPerRow: fileBytes / rows,
      columns: cols.map(([c, b, e]) => ({ column: String(c).replace(/, list, element$/, '[]'), bytes: Number(b), bytesPerRow: Number(b) / rows, encodings: String(e) })),
    };
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

export function printLayout(title: string, l: Layout): void {
  console.log(`\n== file layout: ${title} ==`);
  console.log(`${l.rows.toLocaleString()} rows, ${l.files} files, ${(l.fileBytes / 1e6).toFixed(2)} MB: ${l.bytesPerRow.toFixed(2)} B/row (footers and headers included)`);
  console.log(`${'column'.padEnd(22)} ${'B/row'.padStart(7)}  encodings`);
  for (const c of l.columns) console.log(`${c.column.padEnd(22)} ${c.bytesPerRow.toFixed(2).padStart(7)}  ${c.encodings}`);
}

/** The ASX sample's trades as V2 records, mapped exactly as the ASX loader maps them. */
export function asxSampleTrades(dir: string): TradeV2[] {
  const clock = new ExchangeClock();
  const infoIdentity = sourceIdentity('reference-data', 'company_info.csv');
  const { companies } = parseCompanyInfo(fs.readFileSync(path.join(dir, 'reference-data', 'company_info.csv'), 'utf8'), clock, infoIdentity);
  const out: TradeV2[] = [];
  const now = nowMicros();
  for (const file of fs.readdirSync(path.join(dir, 'trades')).filter((f) => f.endsWith('.csv')).sort()) {
    const company = companies.get(file.replace(/\.csv$/, ''));
    if (!company) throw new Error(`asx sample: no company_info row for trades/${file}`);
    const mapper = new TradeMapper({ identity: sourceIdentity('trades', file), currency: DEFAULT_CURRENCY, clock, company });
    mapper.ingestionTimestamp = now;
    fs.readFileSync(path.join(dir, 'trades', file), 'utf8')
      .split(/\r?\n/)
      .forEach((line, i) => {
        if (line.trim() === '') return;
        const r = mapper.map(line, i + 1);
        if (r) out.push(r);
      });
  }
  return out;
}
