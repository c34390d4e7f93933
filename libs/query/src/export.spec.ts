import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isoFromMicros } from '@k2/schema';
import { QueryEngine } from './engine';
import { days } from './export';
import { csvField, csvLine, EXPORT_CSV_COLUMNS, exportFilename, readCsv, tailJson } from './export-format';
import { recordJson } from './records';
import type { V2Record } from './tail-store';

const T0 = 1_790_000_000_123_456n;
const trade = (i: number, extra: Partial<V2Record> = {}): V2Record => ({
  message_id: `m-${String(i).padStart(3, '0')}`,
  trade_id: `t,${i}`,
  symbol: 'BTCUSDT',
  exchange: 'BINANCE',
  asset_class: 'crypto',
  timestamp: T0 + BigInt(i),
  price: '97000.12345678',
  quantity: '0.00000001',
  currency: 'USDT',
  side: 'BUY',
  trade_conditions: ['a "quoted", one', 'line\nbreak'],
  source_sequence: 2n ** 60n + BigInt(i),
  ingestion_timestamp: T0 + 1000n,
  platform_sequence: null,
  vendor_data: { z: 'last', a: 'first, "x"' },
  ...extra,
});

describe('CSV quoting (RFC 4180)', () => {
  it('quotes only fields holding a comma, quote or line break, doubling quotes; null is the empty field', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
    expect(csvField(null)).toBe('');
    expect(csvField('')).toBe('');
    expect(csvField(2n ** 63n - 1n)).toBe('9223372036854775807');
    expect(csvLine(['x', null, 'a,"b"', 1])).toBe('x,,"a,""b""",1');
  });

  it('reads back what it writes, line breaks and quotes inside fields included', () => {
    const rows = [['a', 'b,c', 'd"e', 'f\r\ng', '', 'ビット🚀']];
    expect(readCsv(rows.map(csvLine).join('\r\n') + '\r\n')).toEqual(rows);
  });

  it('names files without characters a Content-Disposition filename cannot hold', () => {
    expect(exportFilename('trades', ['BTCUSDT'], 1_790_812_800_000_000n, 1_790_899_200_000_000n, 'csv')).toBe('trades_BTCUSDT_2026-10-01T00-00-00Z_2026-10-02T00-00-00Z.csv');
    expect(exportFilename('quotes', ['BTC/USD', 'BHP'], 1n, 2n, 'parquet')).toMatch(/^quotes_BTC-USD\+BHP_1970-01-01T00-00-00_000001Z_1970-01-01T00-00-00_000002Z\.parquet$/);
    expect(exportFilename('trades', undefined, 0n, 1n, 'ndjson')).toMatch(/^trades_all_/);
  });

  it('cuts a window at UTC midnights', () => {
    const D = 86_400_000_000n;
    expect(days(D + 5n, 3n * D + 7n)).toEqual([[D + 5n, 2n * D], [2n * D, 3n * D], [3n * D, 3n * D + 7n]]);
    expect(days(D, 2n * D)).toEqual([[D, 2n * D]]);
  });
});

describe('export statements on the real engine', () => {
  let engine: QueryEngine;
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  const base = { symbols: null, exchange: null, asset_class: null, start: T0 - 10n, end: T0 + 1000n };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-export-spec-'));
    engine = await QueryEngine.create({ connections: 1, threads: 1, allowedDirectories: [dir] });
    await engine.query('exportEmptyTrades', { tail: '[]', path: file('empty.parquet') });
    // A "table" file: three trades written through the Parquet export itself (tail rows over an empty table).
    const table = [trade(3), trade(1), trade(2, { trade_conditions: [], vendor_data: null, side: 'SELL' })];
    await engine.query('exportTradesParquet', { ...base, files: [file('empty.parquet')], tail: tailJson(table), tail_min: T0, tail_max: T0 + 3n, path: file('table.parquet') });
  });

  afterAll(async () => {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const lines = async (name: 'exportTradesCsv' | 'exportTradesNdjson', tail: V2Record[]) => {
    const out: string[] = [];
    const ts = tail.map((t) => t['timestamp'] as bigint);
    const n = await engine.streamLines(name, { ...base, files: [file('table.parquet')], tail: tailJson(tail), tail_min: ts.length ? ts.reduce((a, b) => (a < b ? a : b)) : 1n, tail_max: ts.length ? ts.reduce((a, b) => (a > b ? a : b)) : 0n }, undefined, (l) => void out.push(...l));
    expect(n).toBe(out.length);
    return out;
  };

  it('CSV: table and tail rows oldest first, the table twin kept, exact decimals, µs and RFC 3339, quoted text', async () => {
    // m-002 replayed with another ingestion time: the table's copy wins; m-000 and m-004 exist only in the tail.
    const out = await lines('exportTradesCsv', [trade(2, { ingestion_timestamp: 1n }), trade(0), trade(4)]);
    const rows = readCsv(out.join('\r\n') + '\r\n');
    expect(rows.map((r) => r[0])).toEqual(['m-000', 'm-001', 'm-002', 'm-003', 'm-004']);
    const cols = EXPORT_CSV_COLUMNS.trades;
    const at = (r: string[], c: string) => r[cols.indexOf(c)];
    for (const r of rows) expect(r).toHaveLength(cols.length);
    expect(at(rows[1], 'trade_id')).toBe('t,1');
    expect(at(rows[1], 'timestamp_us')).toBe(String(T0 + 1n));
    expect(at(rows[1], 'timestamp')).toBe(isoFromMicros(T0 + 1n));
    expect(at(rows[1], 'price')).toBe('97000.12345678');
    expect(at(rows[1], 'quantity')).toBe('0.00000001');
    expect(at(rows[1], 'source_sequence')).toBe(String(2n ** 60n + 1n));
    expect(at(rows[1], 'platform_sequence')).toBe('');
    expect(JSON.parse(at(rows[1], 'trade_conditions'))).toEqual(['a "quoted", one', 'line\nbreak']);
    expect(JSON.parse(at(rows[1], 'vendor_data'))).toEqual({ a: 'first, "x"', z: 'last' });
    expect(at(rows[2], 'ingestion_timestamp_us')).toBe(String(T0 + 1000n)); // the table's row, not the replay
    expect(at(rows[2], 'vendor_data')).toBe('');
    expect(at(rows[2], 'trade_conditions')).toBe('[]');
  });

  it('NDJSON: each line is the JSON route encoding of the record', async () => {
    const tail = [trade(0), trade(4)];
    const out = (await lines('exportTradesNdjson', tail)).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out.map((o) => o['message_id'])).toEqual(['m-000', 'm-001', 'm-002', 'm-003', 'm-004']);
    expect(out[0]).toEqual(recordJson(trade(0)));
    expect(out[3]).toEqual(recordJson(trade(3)));
    expect(out[2]).toEqual(recordJson(trade(2, { trade_conditions: [], vendor_data: null, side: 'SELL' })));
  });

  it('the sandbox allows the spool and still refuses every other path', async () => {
    const outside = path.join(os.tmpdir(), `k2-export-outside-${process.pid}.parquet`);
    await expect(engine.query('exportEmptyTrades', { tail: '[]', path: outside })).rejects.toThrow(/may not read this file|Permission/);
    expect(fs.existsSync(outside)).toBe(false);
    await expect(engine.streamLines('exportTradesCsv', { ...base, files: ['/etc/passwd'], tail: '[]', tail_min: 1n, tail_max: 0n }, undefined, () => undefined)).rejects.toThrow(/Permission|may not read/);
  });
});
