import { deserializeValue, type PlannedFile, type PrimitiveType, type Schema } from '@k2/iceberg';
import { QueryTooExpensiveError, type CostClass } from './admission';

export interface CostLimits {
  /** Raw-row routes (trades, quotes): the most rows a request's planned files may hold in its window. */
  maxRawRows: number;
  /** Aggregates (bars, summary): the most not-yet-cached rows; they are scanned once, then served from partials. */
  maxAggregateRows: number;
  /** Requests estimated above this are `heavy` for admission control. */
  heavyRows: number;
}

export const DEFAULT_COST_LIMITS: CostLimits = Object.freeze({ maxRawRows: 5_000_000, maxAggregateRows: 100_000_000, heavyRows: 500_000 });

const US_PER_MINUTE = 60_000_000n;

/**
 * Rows the planned files may hold in [startUs, endUs): each file's record count, pro-rated by how much of the
 * file's timestamp range (its column bounds) the window covers. An upper bound for one symbol: files hold
 * several symbols (sorted by symbol, so DuckDB skips most of the others' row groups), which is why the caps are
 * generous. Files without bounds count whole.
 */
export function estimateRows(files: readonly PlannedFile[], schema: Schema, startUs: bigint, endUs: bigint): number {
  const ts = schema.fields.find((f) => f.name === 'timestamp');
  let rows = 0;
  for (const { file } of files) {
    const lo = ts && file['lower-bounds']?.get(ts.id);
    const hi = ts && file['upper-bounds']?.get(ts.id);
    if (!ts || !lo || !hi) {
      rows += file['record-count'];
      continue;
    }
    const from = deserializeValue(ts.type as PrimitiveType, lo) as bigint;
    const to = (deserializeValue(ts.type as PrimitiveType, hi) as bigint) + 1n;
    const overlap = (endUs < to ? endUs : to) - (startUs > from ? startUs : from);
    if (overlap <= 0n) continue;
    rows += Math.ceil(file['record-count'] * Math.min(1, Number(overlap) / Number(to - from)));
  }
  return rows;
}

export type CostRoute = 'raw' | 'aggregate';

/**
 * The cost gate: throws QueryTooExpensiveError (422) above the route's cap, naming the parameter to narrow and a
 * window that would fit; otherwise says whether the request is light or heavy.
 */
export function classifyCost(route: CostRoute, rows: number, window: { startUs: bigint; endUs: bigint; parameter: string }, limits: CostLimits): CostClass {
  const cap = route === 'raw' ? limits.maxRawRows : limits.maxAggregateRows;
  if (rows > cap) {
    const minutes = Number((window.endUs - window.startUs) / US_PER_MINUTE);
    const fits = Math.max(1, Math.floor((minutes * cap) / rows));
    const hint =
      route === 'raw'
        ? `narrow the window to about ${fits} minutes and page through it, or ask /v1/bars for aggregates`
        : `narrow the window to about ${fits} minutes, or use a wider interval over a shorter range`;
    throw new QueryTooExpensiveError(window.parameter, `the request would scan about ${rows} rows, more than the ${cap} allowed for ${route === 'raw' ? 'raw rows' : 'aggregates'}; ${hint}`);
  }
  return rows > limits.heavyRows ? 'heavy' : 'light';
}
