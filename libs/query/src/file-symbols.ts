import type { PlannedFile } from '@k2/iceberg';
import type { QueryEngine } from './engine';
import type { TailKind } from './tail-store';

/** One (symbol, exchange, asset class) of a data file with its first and last event time. */
export interface SymbolRow {
  symbol: string;
  exchange: string;
  asset_class: string;
  first_seen: bigint;
  last_seen: bigint;
}

const symbolRow = (r: Record<string, unknown>): SymbolRow => ({
  symbol: String(r['symbol']),
  exchange: String(r['exchange']),
  asset_class: String(r['asset_class']),
  first_seen: BigInt(r['first_seen'] as bigint),
  last_seen: BigInt(r['last_seen'] as bigint),
});

/**
 * The instruments of each data file, per table, read once per file (files are immutable) and kept only for the files
 * of the latest plan. It answers /v1/symbols, tells the hot tier which slices a recent file has, and tells a
 * cross-source read which (file, symbol) slices it needs.
 */
export class FileSymbols {
  private readonly byKind: Record<TailKind, Map<string, SymbolRow[]>> = { trades: new Map(), quotes: new Map() };

  constructor(
    private readonly engine: QueryEngine,
    private readonly localPath: (uri: string) => Promise<string>,
  ) {}

  /** The cached rows of a file, or undefined when it was never read. */
  cached(kind: TailKind, uri: string): readonly SymbolRow[] | undefined {
    return this.byKind[kind].get(uri);
  }

  /** Reads one file's rows into the cache (kept even if the caller's deadline cuts its request short). */
  async load(kind: TailKind, uri: string, signal?: AbortSignal): Promise<SymbolRow[]> {
    const rows = (await this.engine.query('fileSymbols', { files: [await this.localPath(uri)] }, signal)).map(symbolRow);
    this.byKind[kind].set(uri, rows);
    return rows;
  }

  /** The distinct symbols of one file (read once). */
  async symbolsOf(kind: TailKind, uri: string): Promise<string[]> {
    const rows = this.cached(kind, uri) ?? (await this.load(kind, uri));
    return [...new Set(rows.map((r) => r.symbol))];
  }

  /** The files of `files` not read yet. */
  missing(kind: TailKind, files: readonly PlannedFile[]): PlannedFile[] {
    return files.filter((f) => !this.byKind[kind].has(f.file['file-path']));
  }

  /**
   * The rows of every file of a plan (those never read count as empty). With `current`, the cache keeps only these
   * files; an older snapshot's plan (time travel) must not evict the current files' entries.
   */
  ofPlan(kind: TailKind, files: readonly PlannedFile[], current: boolean): SymbolRow[] {
    const kept = new Map<string, SymbolRow[]>();
    for (const f of files) kept.set(f.file['file-path'], this.byKind[kind].get(f.file['file-path']) ?? []);
    if (current) this.byKind[kind] = kept;
    return [...kept.values()].flat();
  }
}

/**
 * The symbols of one file's symbol list that a selection covers, or undefined when an asset-class filter meets a
 * symbol whose rows span several asset classes (slices are per symbol, so only SQL can filter those rows).
 */
export function selectSymbols(rows: readonly SymbolRow[], wanted: ReadonlySet<string> | undefined, exchange: string | undefined, assetClass: string | undefined): string[] | undefined {
  const classes = new Map<string, Set<string>>();
  for (const r of rows) {
    if (wanted && !wanted.has(r.symbol)) continue;
    if (exchange !== undefined && r.exchange !== exchange) continue;
    let set = classes.get(r.symbol);
    if (!set) classes.set(r.symbol, (set = new Set()));
    set.add(r.asset_class);
  }
  if (assetClass === undefined) return [...classes.keys()];
  const out: string[] = [];
  for (const [symbol, set] of classes) {
    if (!set.has(assetClass)) continue;
    if (set.size > 1) return undefined;
    out.push(symbol);
  }
  return out;
}
