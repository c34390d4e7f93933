import type { DataFile, LoadedTable, PartitionRows } from '@k2/iceberg';
import type { OffsetMap } from '@k2/lake';
import type { Batch, RecordGroup } from './batch';
import type { DedupIndex } from './dedup';

/** Lines per CSV text chunk handed to the Parquet writer (bounded strings, one write each). */
const LINES_PER_CHUNK = 16_384;

/**
 * What one commit attempt of a batch writes: the records at or above the table's offsets (lower ones were committed
 * by a previous owner of the partition), minus ids already in the table or earlier in the batch. The data files of
 * an attempt are reused by the next attempt after a lost CAS race when the selection did not change.
 */
export class Prepared {
  kept = 0;
  duplicates = 0;
  minEventUs: bigint | undefined;
  maxEventUs: bigint | undefined;
  written: DataFile[] | undefined;
  private writtenKey: string | undefined;
  private selection: Array<{ g: RecordGroup; idx: number[] }> = [];

  constructor(
    private readonly batch: Batch,
    private readonly columnsOf: (schemaId: number) => readonly string[],
  ) {}

  async select(base: LoadedTable, tableOff: OffsetMap, dedup: DedupIndex): Promise<void> {
    const fresh: Array<{ g: RecordGroup; idx: number[] }> = [];
    const needed = new Set<string>();
    for (const g of this.batch.groups.values()) {
      const idx: number[] = [];
      for (let i = 0; i < g.size; i++) if (g.offsets[i] >= (tableOff.get(g.tps[i]) ?? -1)) idx.push(i);
      if (idx.length) {
        fresh.push({ g, idx });
        needed.add(g.pkey);
      }
    }
    await dedup.sync(base, needed);
    const seen = new Set<string>();
    this.selection = [];
    this.kept = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const { g, idx } of fresh) {
      const known = await dedup.known(g.pkey, idx.map((i) => g.ids[i]));
      const keep: number[] = [];
      for (const i of idx) {
        const id = g.ids[i];
        if (seen.has(id) || known.has(id)) continue;
        seen.add(id);
        keep.push(i);
        const e = g.events[i];
        if (e < min) min = e;
        if (e > max) max = e;
      }
      if (keep.length) this.selection.push({ g, idx: keep });
      this.kept += keep.length;
    }
    this.duplicates = this.batch.rows - this.kept;
    this.minEventUs = min === Infinity ? undefined : BigInt(min);
    this.maxEventUs = max === -Infinity ? undefined : BigInt(max);
  }

  schemaIds(): Set<number> {
    return new Set(this.selection.map((s) => s.g.schemaId));
  }

  /** [partition key, id] of every selected record (the dedup index learns them after the commit). */
  *keptIds(): Iterable<[string, string]> {
    for (const { g, idx } of this.selection) for (const i of idx) yield [g.pkey, g.ids[i]];
  }

  /** Data files of the selection (written once per distinct selection and schema). */
  async files(
    schema: { 'schema-id': number },
    write: (groups: PartitionRows[]) => Promise<DataFile[]>,
    remove: (paths: string[]) => Promise<void>,
  ): Promise<DataFile[]> {
    const first = this.selection[0];
    const last = this.selection[this.selection.length - 1];
    const key = `${schema['schema-id']}:${this.kept}:${first?.g.ids[first.idx[0]]}:${last?.g.ids[last.idx[last.idx.length - 1]]}`;
    if (this.written && this.writtenKey === key) return this.written;
    if (this.written) await remove(this.written.map((f) => f['file-path']));
    this.written = undefined;
    const groups = this.selection.map(({ g, idx }) => ({ source: g.source, rows: { columns: this.columnsOf(g.schemaId), text: chunks(g.lines, idx) } }));
    this.written = await write(groups);
    this.writtenKey = key;
    return this.written;
  }
}

function chunks(lines: readonly string[], idx: readonly number[]): string[] {
  const out: string[] = [];
  for (let s = 0; s < idx.length; s += LINES_PER_CHUNK) {
    const part: string[] = [];
    for (let j = s; j < Math.min(idx.length, s + LINES_PER_CHUNK); j++) part.push(lines[idx[j]]);
    out.push(part.join('\n') + '\n');
  }
  return out;
}
