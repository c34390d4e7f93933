/**
 * One memory budget for the process (ADR 0015): QUERY_MEMORY_BUDGET is split by fixed fractions into the parts
 * that hold data; a part's own setting wins over its share, but the parts together must fit the budget. The rest
 * (5 %) plus what Node itself needs (code, manifests, requests in flight: ~150 MB measured) is why the default
 * budget is 768 MiB for a 1 GiB container.
 */
export const DEFAULT_MEMORY_BUDGET = '768MiB';

export const SHARES = Object.freeze({ duckdb: 0.2, tail: 0.2, hot: 0.35, bars: 0.1, sse: 0.1 });
export type Part = keyof typeof SHARES;

/** Heap bytes one tail record takes (decoded Avro object, its TailRow, the id and symbol indexes), measured roughly. */
export const TAIL_RECORD_BYTES = 1024;
/** A stream client's unsent-bytes cap never goes below this (a burst of frames must fit). */
export const MIN_SSE_CLIENT_BYTES = 64 * 1024;

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };
export const SIZE_PATTERN = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i;

/** "768MiB", "1GB" (DuckDB's units: KB = 1000, KiB = 1024), "1048576" → bytes. */
export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = UNITS[(m?.[2] || 'B').toUpperCase()];
  if (!m || unit === undefined) throw new RangeError(`not a size: ${text}`);
  return Math.floor(Number(m[1]) * unit);
}

export interface MemoryOverrides {
  duckdb?: string;
  tailRecords?: number;
  hot?: string;
  bars?: string;
  sse?: string;
}

export interface MemoryPlan {
  budget: number;
  /** Bytes per part (the tail's as records × TAIL_RECORD_BYTES). */
  parts: Record<Part, number>;
  /** For DuckDB's memory_limit. */
  duckdbMemoryLimit: string;
  tailMaxRecords: number;
  /** The SSE part shared by the stream clients: each one's unsent-bytes cap. */
  sseClientBytes: number;
}

/** The split, or the one line saying why it does not fit. */
export function planMemory(budgetText: string, o: MemoryOverrides, maxStreamClients: number): MemoryPlan | string {
  const budget = parseBytes(budgetText);
  const share = (p: Part): number => Math.floor(budget * SHARES[p]);
  const parts: Record<Part, number> = {
    duckdb: o.duckdb !== undefined ? parseBytes(o.duckdb) : share('duckdb'),
    tail: o.tailRecords !== undefined ? o.tailRecords * TAIL_RECORD_BYTES : share('tail'),
    hot: o.hot !== undefined ? parseBytes(o.hot) : share('hot'),
    bars: o.bars !== undefined ? parseBytes(o.bars) : share('bars'),
    sse: o.sse !== undefined ? parseBytes(o.sse) : share('sse'),
  };
  const sum = Object.values(parts).reduce((a, b) => a + b, 0);
  if (sum > budget) {
    const list = (Object.keys(parts) as Part[]).map((p) => `${p} ${mib(parts[p])}`).join(' + ');
    return `memory parts exceed QUERY_MEMORY_BUDGET=${budgetText} (${mib(budget)}): ${list} = ${mib(sum)}; raise the budget or lower a part (QUERY_DUCKDB_MEMORY_LIMIT, QUERY_TAIL_MAX_RECORDS, QUERY_HOT_TIER_BYTES, QUERY_BAR_CACHE_BYTES, QUERY_SSE_BUFFER_BYTES)`;
  }
  return {
    budget,
    parts,
    duckdbMemoryLimit: `${Math.max(1, Math.floor(parts.duckdb / 1024))}KiB`,
    tailMaxRecords: Math.max(1000, Math.floor(parts.tail / TAIL_RECORD_BYTES)),
    sseClientBytes: Math.max(MIN_SSE_CLIENT_BYTES, Math.floor(parts.sse / Math.max(1, maxStreamClients))),
  };
}

const mib = (b: number): string => `${(b / 1024 ** 2).toFixed(0)} MiB`;

/**
 * The V8 heap limit that goes with a budget: what lives on the JS heap (tail records, minute bars, dictionary
 * strings, requests in flight) is at most about half of it — the hot tier's columns and SSE buffers are off-heap —
 * plus Node's own ~100 MB. Without a limit V8 sizes the heap from the machine, not the budget, and lets garbage grow
 * well past it before a full collection: bench:query's API peaked at 1.18 GB with the default budget, 0.87 GB with
 * --max-old-space-size=400 at the same speed. Launchers pass `--max-old-space-size=<this>` (MiB).
 */
export function heapLimitMiB(budgetBytes: number): number {
  return Math.ceil((budgetBytes * 0.6) / 1024 ** 2);
}

/** One line when the process's heap may grow past the budget (the launcher did not pass the limit), else undefined. */
export function heapLimitProblem(budgetBytes: number, heapSizeLimit: number): string | undefined {
  const want = heapLimitMiB(budgetBytes);
  if (heapSizeLimit <= budgetBytes) return undefined;
  return `the V8 heap may grow to ${Math.round(heapSizeLimit / 1024 ** 2)} MiB, more than QUERY_MEMORY_BUDGET (${Math.round(budgetBytes / 1024 ** 2)} MiB): garbage can push RSS past the budget before a full collection; start node with --max-old-space-size=${want} (or NODE_OPTIONS)`;
}
