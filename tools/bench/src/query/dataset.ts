import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger, ErrorCode, K2Error, type Logger } from '@k2/core';
import {
  applyTransform,
  avroToIcebergSchema,
  commitSnapshot,
  createCatalog,
  createFileIO,
  currentSchema,
  currentSnapshot,
  defaultSpec,
  ParquetWriter,
  partitionPathSegment,
  partitionType,
  type AvroField,
  type Catalog,
  type ColumnSource,
  type DataFile,
  type FileIO,
  type LoadedTable,
  type RowValue,
  type Schema,
  type TableIdent,
  storeDataFile,
} from '@k2/iceberg';
import { marketTableLayout, MARKET_NAMESPACE, TABLE_BY_KIND, TABLE_PROPERTIES, toRow, type DecodedRecord } from '@k2/lake';
import { messageId, v2Type } from '@k2/schema';

/**
 * The query benchmark's dataset: `market_data.trades_v2` holding symbols × days × trades-per-symbol-day synthetic
 * V2 trades, written through the same library path as iceberg-writer — table created from the Avro→Iceberg mapping
 * of the trade schema with marketTableLayout and TABLE_PROPERTIES, rows built by the sink's toRow, zstd Parquet
 * with field ids from ParquetWriter, appends through commitSnapshot — but generated in process: 10M trades through
 * Kafka would take far longer than the benchmark itself.
 *
 * One data file per (day, exchange) partition, one commit per day. Generation is deterministic (seeded per symbol),
 * so a rebuild produces the same rows and message ids; only file names and snapshot ids differ.
 */

export const DAY_US = 86_400_000_000;
/** First day of the dataset: a fixed date in the past, so no query is rejected as being about the future. */
export const DATASET_START = Date.UTC(2026, 9, 1); // 2026-10-01

export interface BenchSymbol {
  symbol: string;
  exchange: 'BINANCE' | 'KRAKEN';
  currency: string;
  /** Opening price of the first day. */
  price: number;
  /** Price tick and quantity step, as the venue publishes them. */
  tick: string;
  step: string;
  /** Typical trade size in quote currency (median of the log-normal draw). */
  notional: number;
  /** The venue's trade id of the first generated trade (aggTrade id / Kraken trade_id). */
  firstTradeId: number;
}

/**
 * Ten Binance and ten Kraken pairs at roughly their late-2026 levels. Symbols are canonical K2 symbols, as the
 * mappers produce them (Kraken's XBT/USD arrives as BTCUSD; exchange codes upper case), so the API is queried with
 * exactly what the live pipeline would have written. Interleaved, so BENCH_SYMBOLS=n keeps both venues.
 */
export const ALL_SYMBOLS: readonly BenchSymbol[] = [
  { symbol: 'BTCUSDT', exchange: 'BINANCE', currency: 'USDT', price: 97_000, tick: '0.01', step: '0.00001', notional: 900, firstTradeId: 3_412_000_000 },
  { symbol: 'BTCUSD', exchange: 'KRAKEN', currency: 'USD', price: 96_950, tick: '0.1', step: '0.00000001', notional: 1_200, firstTradeId: 88_000_000 },
  { symbol: 'ETHUSDT', exchange: 'BINANCE', currency: 'USDT', price: 3_400, tick: '0.01', step: '0.0001', notional: 700, firstTradeId: 2_310_000_000 },
  { symbol: 'ETHUSD', exchange: 'KRAKEN', currency: 'USD', price: 3_398, tick: '0.01', step: '0.00000001', notional: 900, firstTradeId: 61_000_000 },
  { symbol: 'SOLUSDT', exchange: 'BINANCE', currency: 'USDT', price: 185, tick: '0.01', step: '0.001', notional: 400, firstTradeId: 1_150_000_000 },
  { symbol: 'SOLUSD', exchange: 'KRAKEN', currency: 'USD', price: 184.9, tick: '0.01', step: '0.00000001', notional: 500, firstTradeId: 24_000_000 },
  { symbol: 'BNBUSDT', exchange: 'BINANCE', currency: 'USDT', price: 640, tick: '0.01', step: '0.001', notional: 350, firstTradeId: 980_000_000 },
  { symbol: 'XRPUSD', exchange: 'KRAKEN', currency: 'USD', price: 2.349, tick: '0.00001', step: '0.00000001', notional: 400, firstTradeId: 31_000_000 },
  { symbol: 'XRPUSDT', exchange: 'BINANCE', currency: 'USDT', price: 2.35, tick: '0.0001', step: '0.1', notional: 300, firstTradeId: 870_000_000 },
  { symbol: 'DOGEUSD', exchange: 'KRAKEN', currency: 'USD', price: 0.3801, tick: '0.0000001', step: '0.00000001', notional: 250, firstTradeId: 19_000_000 },
  { symbol: 'DOGEUSDT', exchange: 'BINANCE', currency: 'USDT', price: 0.38, tick: '0.00001', step: '1', notional: 200, firstTradeId: 760_000_000 },
  { symbol: 'ADAUSD', exchange: 'KRAKEN', currency: 'USD', price: 0.9801, tick: '0.000001', step: '0.00000001', notional: 250, firstTradeId: 14_000_000 },
  { symbol: 'ADAUSDT', exchange: 'BINANCE', currency: 'USDT', price: 0.98, tick: '0.0001', step: '0.1', notional: 200, firstTradeId: 540_000_000 },
  { symbol: 'DOTUSD', exchange: 'KRAKEN', currency: 'USD', price: 7.8, tick: '0.0001', step: '0.00000001', notional: 200, firstTradeId: 9_000_000 },
  { symbol: 'AVAXUSDT', exchange: 'BINANCE', currency: 'USDT', price: 42, tick: '0.01', step: '0.01', notional: 250, firstTradeId: 420_000_000 },
  { symbol: 'LINKUSD', exchange: 'KRAKEN', currency: 'USD', price: 23.01, tick: '0.00001', step: '0.00000001', notional: 200, firstTradeId: 8_000_000 },
  { symbol: 'LINKUSDT', exchange: 'BINANCE', currency: 'USDT', price: 23, tick: '0.01', step: '0.01', notional: 200, firstTradeId: 610_000_000 },
  { symbol: 'LTCUSD', exchange: 'KRAKEN', currency: 'USD', price: 105.1, tick: '0.01', step: '0.00000001', notional: 250, firstTradeId: 12_000_000 },
  { symbol: 'LTCUSDT', exchange: 'BINANCE', currency: 'USDT', price: 105, tick: '0.01', step: '0.001', notional: 200, firstTradeId: 690_000_000 },
  { symbol: 'XLMUSD', exchange: 'KRAKEN', currency: 'USD', price: 0.45, tick: '0.000001', step: '0.00000001', notional: 150, firstTradeId: 7_000_000 },
];

export interface DatasetOptions {
  /** Directory holding catalog.db and warehouse/. */
  root: string;
  symbols: number;
  days: number;
  tradesPerSymbolDay: number;
  /** Delete and rebuild even when a matching dataset exists. */
  rebuild: boolean;
  log: (line: string) => void;
}

export interface DatasetInfo {
  /** ICEBERG_CATALOG_URI / ICEBERG_WAREHOUSE values for the API. */
  catalogUri: string;
  warehouse: string;
  catalogName: string;
  table: string;
  symbols: readonly BenchSymbol[];
  /** UTC midnight (ms) of the first day, and the number of days. */
  startMs: number;
  days: number;
  rows: number;
  files: number;
  /** Parquet bytes (manifest sizes) and everything under root (metadata, manifests, catalog). */
  dataBytes: number;
  diskBytes: number;
  reused: boolean;
  buildSeconds: number | undefined;
}

const CATALOG_NAME = 'rest_backend'; // DEFAULT_SQL_CATALOG_NAME, as iceberg-writer registers its tables
const DATASET_PROPERTY = 'k2.bench.dataset';
const SORT_BY = ['symbol', 'timestamp'];
const NO_CONDITIONS: readonly string[] = Object.freeze([]);

/** Local warehouse only: the S3 settings are never used, but the resolving FileIO wants them. */
const NO_S3 = { endpoint: undefined, region: 'us-east-1', accessKeyId: undefined, secretAccessKey: undefined, forcePathStyle: false };

/** Decimal text ("0.01") → integer units of 1e-8, the unscaled Decimal(18,8). */
function units8(text: string): number {
  const [i, f = ''] = text.split('.');
  return Number(i) * 1e8 + Number(f.padEnd(8, '0'));
}

/** Unscaled Decimal(18,8) → canonical text with exactly 8 fraction digits, as the decoder hands the sink. */
function dec8(units: number): string {
  const i = Math.floor(units / 1e8);
  return `${i}.${String(units - i * 1e8).padStart(8, '0')}`;
}

/** mulberry32: tiny, fast, deterministic; quality is plenty for synthetic prices. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Per-symbol generator state carried from one day to the next, so prices continue across partitions. */
interface SymbolState {
  spec: BenchSymbol;
  tickUnits: number;
  stepUnits: number;
  price: number;
  random: () => number;
}

function gaussian(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(0) is not a number
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/**
 * One symbol's trades of one day, appended to `rows` in (timestamp) order: n trades, one per n-th of the day with
 * jitter inside its slot (strictly increasing times), a log-normal price walk of ~3 % daily volatility rounded to
 * the tick, log-normal sizes rounded to the step.
 */
function generateSymbolDay(st: SymbolState, dayIndex: number, n: number, schema: Schema, sources: ReadonlyMap<number, ColumnSource>, rows: RowValue[][]): void {
  const { spec, random, tickUnits, stepUnits } = st;
  const dayStartUs = DATASET_START * 1000 + dayIndex * DAY_US;
  const slotUs = DAY_US / n;
  const sigma = 0.03 / Math.sqrt(n);
  const firstId = spec.firstTradeId + dayIndex * n;
  for (let j = 0; j < n; j++) {
    st.price *= Math.exp(sigma * gaussian(random));
    const priceUnits = Math.max(1, Math.round((st.price * 1e8) / tickUnits)) * tickUnits;
    const qty = (spec.notional * Math.exp(0.9 * gaussian(random))) / st.price;
    const qtyUnits = Math.max(1, Math.round((qty * 1e8) / stepUnits)) * stepUnits;
    // Below 2^53 µs (year 2255), so plain numbers are exact here.
    const ts = dayStartUs + Math.floor((j + random()) * slotUs);
    const ingest = ts + 2_000 + Math.floor(random() * 38_000);
    const tradeId = String(firstId + j);
    const rec: DecodedRecord = {
      message_id: messageId(spec.exchange, spec.symbol, tradeId),
      trade_id: tradeId,
      symbol: spec.symbol,
      exchange: spec.exchange,
      asset_class: 'crypto',
      timestamp: BigInt(ts),
      price: dec8(priceUnits),
      quantity: dec8(qtyUnits),
      currency: spec.currency,
      side: random() < 0.5 ? 'BUY' : 'SELL',
      trade_conditions: NO_CONDITIONS,
      source_sequence: BigInt(tradeId),
      ingestion_timestamp: BigInt(ingest),
      // The publisher's per-symbol µs sequence: the ingestion clock, strictly increasing per symbol.
      platform_sequence: BigInt(ingest),
      vendor_data: null,
    };
    rows.push(toRow(rec, schema, sources));
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += await dirBytes(p);
    else if (e.isFile()) total += (await fs.stat(p)).size;
  }
  return total;
}

function fingerprint(o: DatasetOptions): string {
  return JSON.stringify({ v: 1, start: new Date(DATASET_START).toISOString().slice(0, 10), symbols: o.symbols, days: o.days, perDay: o.tradesPerSymbolDay });
}

interface Lake {
  catalog: Catalog;
  io: FileIO;
  catalogUri: string;
  warehouse: string;
}

function openLake(root: string, logger: Logger): Lake {
  const catalogUri = `jdbc:sqlite:file:${path.join(root, 'catalog.db')}`;
  const warehouse = pathToFileURL(path.join(root, 'warehouse')).href;
  const io = createFileIO(NO_S3);
  const catalog = createCatalog({ type: 'sql', uri: catalogUri, warehouse }, io, { name: CATALOG_NAME, logger });
  return { catalog, io, catalogUri, warehouse };
}

async function loadIfExists(catalog: Catalog, ident: TableIdent): Promise<LoadedTable | undefined> {
  try {
    return await catalog.loadTable(ident);
  } catch (e) {
    if (e instanceof K2Error && e.code === ErrorCode.ICEBERG_NOT_FOUND) return undefined;
    throw e;
  }
}

/** Reuses the dataset under `o.root` when it matches the options, otherwise (re)builds it. */
export async function ensureDataset(o: DatasetOptions): Promise<DatasetInfo> {
  if (!Number.isInteger(o.symbols) || o.symbols < 1 || o.symbols > ALL_SYMBOLS.length) throw new Error(`BENCH_SYMBOLS must be 1..${ALL_SYMBOLS.length}`);
  if (!Number.isInteger(o.days) || o.days < 1) throw new Error('BENCH_DAYS must be a positive integer');
  if (!Number.isInteger(o.tradesPerSymbolDay) || o.tradesPerSymbolDay < 1) throw new Error('BENCH_TRADES_PER_SYMBOL_DAY must be a positive integer');
  const symbols = ALL_SYMBOLS.slice(0, o.symbols);
  const expected = o.symbols * o.days * o.tradesPerSymbolDay;
  const ident: TableIdent = { namespace: MARKET_NAMESPACE, name: TABLE_BY_KIND.trades };
  const logger = createLogger({ service: 'bench-query', level: 'warn' });
  const base = { catalogName: CATALOG_NAME, table: `${MARKET_NAMESPACE.join('.')}.${ident.name}`, symbols, startMs: DATASET_START, days: o.days };

  await fs.mkdir(o.root, { recursive: true });
  let lake = openLake(o.root, logger);
  let buildSeconds: number | undefined;
  try {
    const existing = await loadIfExists(lake.catalog, ident);
    const summary = existing && currentSnapshot(existing.metadata)?.summary;
    const matches = summary !== undefined && Number(summary['total-records']) === expected && summary[DATASET_PROPERTY] === fingerprint(o);
    if (matches && !o.rebuild) {
      o.log(`reusing ${o.root} (${expected.toLocaleString()} trades)`);
    } else {
      if (existing) o.log(o.rebuild ? 'BENCH_REBUILD=1: rebuilding the dataset' : 'existing dataset does not match the parameters: rebuilding');
      await lake.catalog.close();
      // A fresh catalog and warehouse: no stale files of an interrupted or different build linger.
      await fs.rm(o.root, { recursive: true, force: true });
      await fs.mkdir(o.root, { recursive: true });
      lake = openLake(o.root, logger);
      o.log(`building ${expected.toLocaleString()} trades (${o.symbols} symbols × ${o.days} days × ${o.tradesPerSymbolDay.toLocaleString()}) in ${o.root}`);
      const t0 = process.hrtime.bigint();
      await build(lake, ident, symbols, o, logger);
      buildSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    }
    const table = await lake.catalog.loadTable(ident);
    const s = currentSnapshot(table.metadata)?.summary;
    return {
      ...base,
      catalogUri: lake.catalogUri,
      warehouse: lake.warehouse,
      rows: Number(s?.['total-records'] ?? 0),
      files: Number(s?.['total-data-files'] ?? 0),
      dataBytes: Number(s?.['total-files-size'] ?? 0),
      diskBytes: await dirBytes(o.root),
      reused: buildSeconds === undefined,
      buildSeconds,
    };
  } finally {
    await lake.catalog.close();
  }
}

async function build(lake: Lake, ident: TableIdent, symbols: readonly BenchSymbol[], o: DatasetOptions, logger: Logger): Promise<void> {
  const { catalog, io } = lake;
  // Exactly as TableSink.ensureTable: the fields of the registered writer schema (avsc's view of it, as the sink
  // reads it from the registry), mapped to Iceberg, with the market layout and table properties.
  const avroFields = (v2Type('trades').schema({ exportAttrs: true }) as { fields: AvroField[] }).fields;
  await catalog.createNamespace(MARKET_NAMESPACE);
  const mapped = avroToIcebergSchema(avroFields);
  let table = await catalog.createTable(ident, { schema: mapped.schema, ...marketTableLayout(mapped.schema), properties: TABLE_PROPERTIES });
  const schema = currentSchema(table.metadata);
  const { sources } = avroToIcebergSchema(avroFields, schema);
  const spec = defaultSpec(table.metadata);
  const pt = partitionType(spec, schema);

  const parquet = await ParquetWriter.create({ tmpDir: path.join(o.root, 'tmp'), threads: 2, memoryLimit: '1GB' });
  const exchanges = [...new Set(symbols.map((s) => s.exchange))].sort();
  // In symbol order, so each partition's rows come out in the table's sort order already.
  const states: SymbolState[] = [...symbols]
    .sort((a, b) => (a.symbol < b.symbol ? -1 : 1))
    .map((s) => ({ spec: s, tickUnits: units8(s.tick), stepUnits: units8(s.step), price: s.price, random: rng(seedOf(s.symbol)) }));
  const total = symbols.length * o.days * o.tradesPerSymbolDay;
  let written = 0;
  const t0 = Date.now();
  try {
    for (let d = 0; d < o.days; d++) {
      const files: DataFile[] = [];
      for (const exchange of exchanges) {
        // One partition in memory at a time: its rows, sorted by symbol then time (the table's sort order).
        const rows: RowValue[][] = [];
        for (const st of states.filter((x) => x.spec.exchange === exchange)) generateSymbolDay(st, d, o.tradesPerSymbolDay, schema, sources, rows);
        files.push(await writePartition(parquet, io, table, schema, rows, pt, spec));
        written += rows.length;
      }
      const result = await commitSnapshot(catalog, io, ident, async () => ({
        operation: 'append',
        added: files,
        summary: { [DATASET_PROPERTY]: fingerprint(o), 'k2.writer-id': 'bench-query-dataset' },
      }), { logger });
      if (result) table = result.table;
      const s = (Date.now() - t0) / 1000;
      o.log(`  day ${d + 1}/${o.days}: ${written.toLocaleString()} / ${total.toLocaleString()} trades, ${s.toFixed(0)} s, ${Math.round(written / s).toLocaleString()} trades/s`);
    }
  } finally {
    await parquet.close();
  }
}

/** As TableSink.writeFiles for one partition group: Parquet locally, upload under data/<partition path>/. */
async function writePartition(
  parquet: ParquetWriter,
  io: FileIO,
  table: LoadedTable,
  schema: Schema,
  rows: readonly RowValue[][],
  pt: ReturnType<typeof partitionType>,
  spec: ReturnType<typeof defaultSpec>,
): Promise<DataFile> {
  const first = rows[0];
  const partition: DataFile['partition'] = {};
  const segments: string[] = [];
  spec.fields.forEach((pf, i) => {
    const col = schema.fields.findIndex((f) => f.id === pf['source-id']);
    const v = applyTransform(pf.transform, schema.fields[col].type, first[col]);
    partition[pf.name] = v;
    segments.push(partitionPathSegment(pf, pt[i].type, v));
  });
  const local = await parquet.write(schema, rows, SORT_BY);
  return storeDataFile(io, table.metadata, partition, segments, local);
}
