import type { SparkSql, SparkValue } from '../src';
import { records } from '../src';
import type { QueryApi } from './query-api';

/** A daily bar as the API's /v1/bars?interval=1d answers it, keyed `symbol|time`. */
export interface DailyBar {
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  vwap: string | null;
  trades: number;
  first_trade_time: string;
  last_trade_time: string;
}

const ISO_US = `"yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'"`;

/**
 * Daily OHLCV and VWAP of one exchange's trades in Spark SQL, with the API's definitions (docs/query-api.md,
 * libs/query/src/bars.ts): open/close are the first/last trade in (timestamp, message_id) order, VWAP is
 * Σ(price×quantity)/Σquantity rounded half-even to 8 decimals. The division is done on integers (1e-16 and 1e-8
 * units) with an explicit half-even step, so nothing depends on Spark's decimal-division precision rules.
 */
export function dailyBarsSql(table: string, exchange: string, version?: string): string {
  const asOf = version ? ` VERSION AS OF ${version}` : '';
  return `
    WITH daily AS (
      SELECT symbol,
        date_format(date_trunc('DAY', timestamp), ${ISO_US}) AS time,
        min_by(price, struct(timestamp, message_id)) AS open,
        max(price) AS high,
        min(price) AS low,
        max_by(price, struct(timestamp, message_id)) AS close,
        sum(quantity) AS volume,
        count(*) AS trades,
        sum(CAST(price * 100000000 AS DECIMAL(20,0)) * CAST(quantity * 100000000 AS DECIMAL(20,0))) AS n,
        sum(CAST(quantity * 100000000 AS DECIMAL(20,0))) AS v,
        date_format(min(timestamp), ${ISO_US}) AS first_trade_time,
        date_format(max(timestamp), ${ISO_US}) AS last_trade_time
      FROM ${table}${asOf}
      WHERE exchange = '${exchange}'
      GROUP BY symbol, date_trunc('DAY', timestamp)
    ), parts AS (
      SELECT *, CASE WHEN v = 0 THEN NULL ELSE n div v END AS q FROM daily
    )
    SELECT symbol, time, open, high, low, close, volume, trades, first_trade_time, last_trade_time,
      CASE WHEN v = 0 THEN NULL ELSE
        CAST(q + CASE WHEN 2 * (n - q * v) > v OR (2 * (n - q * v) = v AND q % 2 = 1) THEN 1 ELSE 0 END AS DECIMAL(20,0))
          * CAST(0.00000001 AS DECIMAL(9,8))
      END AS vwap
    FROM parts ORDER BY symbol, time`;
}

export async function sparkDaily(spark: SparkSql, table: string, exchange: string, version?: string): Promise<Map<string, DailyBar>> {
  const out = new Map<string, DailyBar>();
  for (const r of records(await spark.sql(dailyBarsSql(table, exchange, version)))) {
    const s = (v: SparkValue) => v as string;
    out.set(`${s(r['symbol'])}|${s(r['time'])}`, {
      open: s(r['open']),
      high: s(r['high']),
      low: s(r['low']),
      close: s(r['close']),
      volume: s(r['volume']),
      vwap: r['vwap'] as string | null,
      trades: Number(r['trades']),
      first_trade_time: s(r['first_trade_time']),
      last_trade_time: s(r['last_trade_time']),
    });
  }
  return out;
}

export async function apiDaily(api: QueryApi, symbols: readonly string[], exchange: string, startIso: string, endIso: string, asOf?: string): Promise<Map<string, DailyBar>> {
  const out = new Map<string, DailyBar>();
  for (const symbol of symbols) {
    const q = `symbol=${symbol}&exchange=${exchange}&interval=1d&start=${startIso}&end=${endIso}${asOf ? `&as_of=${asOf}` : ''}`;
    const { status, body } = await api.json<{ data: Array<DailyBar & { time: string }> }>(`/v1/bars?${q}`);
    if (status !== 200) throw new Error(`/v1/bars?${q}: ${status} ${JSON.stringify(body)}`);
    for (const b of body.data) {
      out.set(`${symbol}|${b.time}`, {
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        vwap: b.vwap,
        trades: b.trades,
        first_trade_time: b.first_trade_time,
        last_trade_time: b.last_trade_time,
      });
    }
  }
  return out;
}

/** Row counts per (exchange, day) of a table in Spark. */
export async function sparkCountsPerDay(spark: SparkSql, table: string, exchange: string, version?: string): Promise<Record<string, number>> {
  const asOf = version ? ` VERSION AS OF ${version}` : '';
  const a = await spark.sql(
    `SELECT exchange, date_format(date_trunc('DAY', timestamp), ${ISO_US}) AS day, count(*) AS n FROM ${table}${asOf} WHERE exchange = '${exchange}' GROUP BY 1, 2`,
  );
  return Object.fromEntries(records(a).map((r) => [`${r['exchange'] as string}|${r['day'] as string}`, Number(r['n'])]));
}

/** Trades per (exchange, day) from the API's daily bars (their `trades` summed over the symbols). */
export function apiTradeCountsPerDay(exchange: string, bars: Map<string, DailyBar>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, b] of bars) {
    const key = `${exchange}|${k.split('|')[1]}`;
    out[key] = (out[key] ?? 0) + b.trades;
  }
  return out;
}

/** Quotes per (exchange, day) from /v1/quotes, every page of each day. */
export async function apiQuoteCountsPerDay(api: QueryApi, exchange: string, days: readonly string[], dayUs: bigint, isoOf: (us: bigint) => string, dayStartUs: (iso: string) => bigint): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const day of days) {
    const start = dayStartUs(day);
    let cursor: string | undefined;
    let n = 0;
    do {
      const q = `exchange=${exchange}&start=${isoOf(start)}&end=${isoOf(start + dayUs)}&limit=10000${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await api.json<{ data: unknown[]; next_cursor?: string | null }>(`/v1/quotes?${q}`);
      if (status !== 200) throw new Error(`/v1/quotes?${q}: ${status} ${JSON.stringify(body)}`);
      n += body.data.length;
      cursor = body.next_cursor ?? undefined;
    } while (cursor);
    if (n) out[`${exchange}|${day}`] = n;
  }
  return out;
}
