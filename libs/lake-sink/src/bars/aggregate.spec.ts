import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { avroToIcebergSchema, ParquetWriter, type AvroField, type RowValue } from '@k2/iceberg';
import { BARS_SCHEMA, BAR_MINUTE_US, toRow } from '@k2/lake';
import { TRADE_V2_SCHEMA, type TradeV2 } from '@k2/schema';
import { BarPartials, HOUR_US } from './aggregate';

/** Decimal(18,8) text → 1e-8 units (test oracle, independent of DuckDB). */
const units = (t: string): bigint => {
  const neg = t.startsWith('-');
  const [i, f = ''] = (neg ? t.slice(1) : t).split('.');
  const v = BigInt(i + f.padEnd(8, '0'));
  return neg ? -v : v;
};
const text = (v: bigint, scale: number): string => {
  const s = (v < 0n ? -v : v).toString().padStart(scale + 1, '0');
  return `${v < 0n ? '-' : ''}${s.slice(0, -scale)}.${s.slice(-scale)}`;
};

/** Expected bars by plain bigint arithmetic over the trades, in BARS_SCHEMA column order. */
function oracle(trades: readonly TradeV2[]): RowValue[][] {
  const groups = new Map<string, TradeV2[]>();
  for (const t of trades) {
    const k = `${t.exchange}|${t.symbol}|${(t.timestamp / BAR_MINUTE_US) * BAR_MINUTE_US}`;
    groups.set(k, [...(groups.get(k) ?? []), t]);
  }
  const rows = [...groups.values()].map((g) => {
    const sorted = [...g].sort((a, b) => (a.timestamp !== b.timestamp ? (a.timestamp < b.timestamp ? -1 : 1) : a.message_id < b.message_id ? -1 : 1));
    const first = sorted[0];
    const last = sorted[sorted.length - 1];
    const prices = g.map((t) => units(t.price));
    return [
      first.exchange,
      first.symbol,
      last.asset_class,
      last.currency,
      (first.timestamp / BAR_MINUTE_US) * BAR_MINUTE_US,
      text(units(first.price), 8),
      text(prices.reduce((a, b) => (b > a ? b : a)), 8),
      text(prices.reduce((a, b) => (b < a ? b : a)), 8),
      text(units(last.price), 8),
      text(g.reduce((s, t) => s + units(t.quantity), 0n), 8),
      text(g.reduce((s, t) => s + units(t.price) * units(t.quantity), 0n), 16),
      BigInt(g.length),
      first.timestamp,
      first.message_id,
      last.timestamp,
      last.message_id,
    ] as RowValue[];
  });
  return rows.sort((a, b) => `${a[1]}|${String(a[4]).padStart(20, '0')}`.localeCompare(`${b[1]}|${String(b[4]).padStart(20, '0')}`));
}

const T0 = 1_763_856_000_000_000n; // 2025-11-23T00:00Z

function trade(i: number, symbol: string, ts: bigint, price: string, qty: string, id = `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`): TradeV2 {
  return {
    message_id: id,
    trade_id: String(i),
    symbol,
    exchange: 'K2UNIT',
    asset_class: 'crypto',
    timestamp: ts,
    price,
    quantity: qty,
    currency: 'USDT',
    side: 'BUY',
    trade_conditions: [],
    source_sequence: BigInt(i),
    ingestion_timestamp: ts + 1n,
    platform_sequence: null,
    vendor_data: null,
  };
}

describe('minute-bar aggregation (DuckDB over Parquet)', () => {
  const { schema, sources } = avroToIcebergSchema((TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields);
  let dir: string;
  let parquet: ParquetWriter;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-bars-'));
    parquet = await ParquetWriter.create({ threads: 1, tmpDir: dir });
  });
  afterAll(async () => {
    await parquet.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const tradesFile = async (ts: readonly TradeV2[]): Promise<string> =>
    (await parquet.write(schema, ts.map((t) => toRow(t as unknown as Record<string, unknown>, schema, sources)))).localPath;
  const barsFile = async (rows: RowValue[][]): Promise<string> => (await parquet.write(BARS_SCHEMA, rows)).localPath;

  // Ties on the timestamp (open/close decided by message_id), a negative price, extreme decimals, two hours.
  const trades: TradeV2[] = [
    trade(1, 'BTCUSDT', T0 + 5n, '60000.00000001', '0.00000001'),
    trade(2, 'BTCUSDT', T0 + 5n, '59999.99999999', '99999999.99999999', '00000000-0000-5000-8000-000000000000'),
    trade(3, 'BTCUSDT', T0 + 59_999_999n, '61000.5', '2'),
    trade(4, 'BTCUSDT', T0 + 59_999_999n, '61000.25', '3', '00000000-0000-5000-8000-ffffffffffff'),
    trade(5, 'BTCUSDT', T0 + 60_000_000n, '9999999999.99999999', '9999999999.99999999'),
    trade(6, 'ETHUSDT', T0 + 3_600_000_000n + 7n, '-1.5', '4'),
    trade(7, 'ETHUSDT', T0 + 3_600_000_000n + 8n, '3000', '0.5'),
  ];

  async function barsOf(batches: TradeV2[][]): Promise<RowValue[][]> {
    // Fold batch by batch, merging into the previous bars of each partition, as the maintainer does.
    let current = new Map<number, string>(); // hour → bars file
    for (const [n, batch] of batches.entries()) {
      const partials = await BarPartials.of(parquet.connection, [await tradesFile(batch)], `t${n}`);
      const next = new Map(current);
      for (const p of await partials.partitions()) {
        const old = current.get(p.hour);
        next.set(p.hour, await barsFile(await partials.rows(p, old ? [old] : [])));
      }
      await partials.close();
      current = next;
    }
    const out: RowValue[][] = [];
    for (const hour of [...current.keys()].sort((a, b) => a - b)) {
      const p = await BarPartials.of(parquet.connection, [], `read${hour}`);
      out.push(...(await p.rows({ exchange: 'K2UNIT', hour }, [current.get(hour)!])));
      await p.close();
    }
    return out.sort((a, b) => `${a[1]}|${String(a[4]).padStart(20, '0')}`.localeCompare(`${b[1]}|${String(b[4]).padStart(20, '0')}`));
  }

  it('equals exact bigint arithmetic: open/close by (timestamp, message_id), Σ quantity and Σ price×quantity unrounded', async () => {
    expect(await barsOf([trades])).toEqual(oracle(trades));
  });

  it('folding in several batches (any split) gives the same rows as one batch', async () => {
    const expected = oracle(trades);
    expect(await barsOf([trades.slice(0, 3), trades.slice(3)])).toEqual(expected);
    expect(await barsOf([[trades[6], trades[1]], [trades[3]], [trades[0], trades[2], trades[4], trades[5]]])).toEqual(expected);
  });

  it('names partitions by exchange and UTC hour', async () => {
    const p = await BarPartials.of(parquet.connection, [await tradesFile(trades)], 'parts');
    expect(await p.partitions()).toEqual([
      { exchange: 'K2UNIT', hour: Number(T0 / HOUR_US) },
      { exchange: 'K2UNIT', hour: Number(T0 / HOUR_US) + 1 },
    ]);
    await p.close();
  });
});
