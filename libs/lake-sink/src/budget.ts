/**
 * The writer's one memory budget (WRITER_MEMORY_BUDGET) and how it is split. The process must fit its container:
 * everything that grows with load has a share, and the rest of the process (V8 heap baseline, code, librdkafka's
 * fetch queue, which the sink caps) gets a fixed allowance.
 *
 * - buffers: compact buffered rows of every table, the in-flight commit's batch included; half of it triggers an
 *   early commit, all of it pauses fetching until the in-flight commit has made room.
 * - dedup: the per-partition id filters (DedupIndex).
 * - duckdb: DuckDB's memory_limit (Parquet writing and the exact id checks; it spills to its temp dir beyond).
 */
export interface MemoryBudget {
  total: number;
  buffers: number;
  dedup: number;
  duckdb: number;
  runtime: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Fits a 1 GiB container with room for the kernel's page cache of the temp files. */
export const DEFAULT_MEMORY_BUDGET = 768 * MiB;
/** V8 heap baseline, code, librdkafka (fetch queue capped at RDKAFKA_QUEUE_KBYTES), sockets. */
export const RUNTIME_ALLOWANCE = 192 * MiB;
/** librdkafka `queued.max.messages.kbytes`: the prefetched records the consumer may hold (inside the allowance). */
export const RDKAFKA_QUEUE_KBYTES = 32 * 1024;
const MIN_BUFFERS = 32 * MiB;
const MIN_DEDUP = 4 * MiB;
const MIN_DUCKDB = 64 * MiB;

const UNITS: Record<string, number> = { '': 1, B: 1, KB: 1000, MB: 1000 ** 2, GB: 1000 ** 3, KIB: KiB, MIB: MiB, GIB: GiB, K: KiB, M: MiB, G: GiB };

/** "768MiB", "1GiB", "512MB", "1073741824" → bytes; undefined when not a size. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2].toUpperCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

export const formatMiB = (bytes: number): string => `${Math.round(bytes / MiB)}MiB`;

/**
 * Splits `total`: DuckDB a quarter (or `duckdb` when given explicitly), dedup a twelfth, buffers the rest after the
 * runtime allowance. Returns the split or the one-line reason it cannot work.
 */
export function splitMemoryBudget(total: number, opts: { duckdb?: number } = {}): MemoryBudget | string {
  const duckdb = opts.duckdb ?? Math.max(MIN_DUCKDB, Math.floor(total / 4));
  const dedup = Math.max(MIN_DEDUP, Math.floor(total / 12));
  const buffers = total - RUNTIME_ALLOWANCE - duckdb - dedup;
  if (duckdb < MIN_DUCKDB) return `DuckDB memory ${formatMiB(duckdb)} is below the ${formatMiB(MIN_DUCKDB)} it needs to write Parquet`;
  if (buffers < MIN_BUFFERS) {
    return (
      `WRITER_MEMORY_BUDGET=${formatMiB(total)} is too small: runtime ${formatMiB(RUNTIME_ALLOWANCE)} + DuckDB ${formatMiB(duckdb)} + dedup ` +
      `${formatMiB(dedup)} leave ${formatMiB(Math.max(0, buffers))} for buffers, below the minimum ${formatMiB(MIN_BUFFERS)}`
    );
  }
  return { total, buffers, dedup, duckdb, runtime: RUNTIME_ALLOWANCE };
}

/** The default split (tests and benchmarks that set no budget). */
export function defaultMemoryBudget(): MemoryBudget {
  return splitMemoryBudget(DEFAULT_MEMORY_BUDGET) as MemoryBudget;
}
