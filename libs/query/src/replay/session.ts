import { ErrorCode, K2Error } from '@k2/core';
import type { ReplayRequest } from '../params';
import type { QueryService } from '../query-service';
import type { TableState, TableView } from '../table-view';
import type { TailKind, TailRow, TailStore } from '../tail-store';
import { liveCursor, type ReplayPosition } from './cursor';
import { readKafkaRange, type KafkaRange, type KafkaRangeOptions, type RangeRows } from './kafka-range';
import { arraySource, AscendingMerge, type PagedSource, type ReplayItem } from './merge';
import type { ReplayMetrics } from './metrics';
import { tablePages } from './table-pages';
import type { ReplayWriter } from './writer';

export interface ReplaySessionDeps {
  views: Record<TailKind, TableView>;
  store: TailStore;
  service: Pick<QueryService, 'replayPage'>;
  /** Reads undelivered offsets back from Kafka when a live cursor resumes; without it such a resume fails. */
  kafka?: KafkaRangeOptions;
  /** Rows per table page and kind (about 450 bytes of JSON each, so ~25 MB). Default 50,000. */
  pageRows?: number;
  /** Live rows waiting for a slow reader; past it the replay ends with an overrun error. Default 50,000. */
  maxLiveQueue?: number;
  heartbeatMs?: number;
  metrics?: ReplayMetrics;
}

const MAX_US = 253_402_300_799_999_999n;
const BATCH = 2048;

/** What one replay reads, taken in one synchronous step (ADR 0009): per kind the table state and the tail past it. */
interface Capture {
  states: Map<TailKind, TableState>;
  /** Tail rows of the selection at or past each table's offsets (references: the tail may evict them meanwhile). */
  tail: Array<{ kind: TailKind; row: TailRow }>;
  /** Per partition, where the history stops and the live phase starts: max(table offset, tail position). */
  handover: Map<string, number>;
}

/**
 * One replay (issue 16): history at the capture (table snapshot S per kind + the tail past O(S)) in ascending
 * (timestamp, message_id), then — without `end` — the live rows that reach the tail after the capture, in arrival
 * order (offset order per partition). The live listener is attached in the capture's synchronous step, so every
 * record is in exactly one phase: offset < hand-over → history, ≥ → live (ADR 0020).
 */
export class ReplaySession {
  private readonly queue: Array<{ kind: TailKind; row: TailRow }> = [];
  private overrun = false;
  private wakeLive: (() => void) | undefined;
  private readonly symbols: ReadonlySet<string> | undefined;
  private handover: Map<string, number> = new Map();
  private readonly onRow = (kind: TailKind, row: TailRow) => {
    if (this.overrun || !this.selects(kind, row) || row.offset < (this.handover.get(row.tp) ?? 0)) return;
    if (this.queue.length >= (this.d.maxLiveQueue ?? 50_000)) {
      this.overrun = true;
      this.d.store.off('row', this.onRow);
    } else this.queue.push({ kind, row });
    this.wakeLive?.();
  };

  constructor(
    private readonly d: ReplaySessionDeps,
    private readonly req: ReplayRequest,
    private readonly pos: ReplayPosition | undefined,
    private readonly out: ReplayWriter,
  ) {
    this.symbols = req.symbols ? new Set(req.symbols) : undefined;
  }

  async run(): Promise<void> {
    const follow = this.req.endUs === undefined;
    this.out.onClose(() => this.wakeLive?.());
    const cap = this.capture(follow);
    try {
      let offsets: Map<string, number>;
      if (this.pos?.phase === 'live') {
        offsets = await this.resumeLive(cap, this.pos.offsets);
      } else {
        await this.history(cap, this.pos);
        if (this.out.closed) return;
        const snapshots = Object.fromEntries([...cap.states].map(([k, s]) => [k, s.snapshotId === undefined ? null : String(s.snapshotId)]));
        // As on the JSON routes (ADR 0009): rows the tail dropped for memory are in neither part of this history.
        const degraded = [...cap.states].some(([k, s]) => this.d.store.truncatedFor(k, s.offsets)) ? ['tail-truncated'] : [];
        if (!follow) {
          this.d.metrics?.ended.inc({ reason: 'end' });
          return await this.out.control('end', { snapshots, degraded });
        }
        offsets = new Map(cap.handover);
        await this.out.control('handover', { offsets: Object.fromEntries(offsets), snapshots, degraded }, liveCursor(offsets));
      }
      await this.live(offsets);
    } finally {
      this.d.store.off('row', this.onRow);
    }
  }

  private capture(follow: boolean): Capture {
    const states = new Map<TailKind, TableState>();
    const tail: Capture['tail'] = [];
    const handover = new Map<string, number>();
    const end = this.req.endUs ?? MAX_US;
    for (const kind of this.req.types) {
      const state = this.d.views[kind].state;
      states.set(kind, state);
      for (const [tp, o] of state.offsets) handover.set(tp, o);
      for (const [tp, o] of this.d.store.positions(kind)) handover.set(tp, Math.max(o, handover.get(tp) ?? 0));
      for (const row of this.d.store.select(kind, this.req, this.req.startUs, end, state.offsets)) tail.push({ kind, row });
    }
    this.handover = handover;
    if (follow) this.d.store.on('row', this.onRow);
    return { states, tail, handover };
  }

  private selects(kind: TailKind, r: TailRow): boolean {
    if (!this.req.types.includes(kind)) return false;
    if (this.symbols && !this.symbols.has(r.symbol)) return false;
    if (this.req.exchange !== undefined && r.exchange !== this.req.exchange) return false;
    if (this.req.assetClass !== undefined && r.rec['asset_class'] !== this.req.assetClass) return false;
    // Live rows stamped before `start` (late data) are not part of a replay from `start` (ADR 0020).
    return r.ts >= this.req.startUs;
  }

  private async history(cap: Capture, pos: ReplayPosition | undefined): Promise<void> {
    const after = pos?.phase === 'history' ? { ts: pos.ts, id: pos.id } : undefined;
    const r = this.req;
    const req = { symbols: r.symbols, exchange: r.exchange, assetClass: r.assetClass, startUs: r.startUs, endUs: r.endUs ?? MAX_US, after };
    const limit = this.d.pageRows ?? 50_000;
    const sources: PagedSource[] = [...cap.states].map(([kind, state]) => tablePages({ kind, state, service: this.d.service, req, limit }));
    sources.push(arraySource(cap.tail.map(({ kind, row }): ReplayItem => ({ kind, rec: row.rec, ts: row.ts, id: row.id }))));
    const merge = new AscendingMerge(sources, after);
    while (!this.out.closed) {
      const batch = await merge.next(BATCH);
      if (batch.length === 0) return;
      await this.out.history(batch);
      this.d.metrics?.events.inc({ phase: 'history' }, batch.length);
    }
  }

  /**
   * A live cursor C: per partition, the offsets [C, O(S)) the table has committed since are read back from Kafka,
   * then the captured tail rows at or past C, then the live phase. No handover event: it was sent before.
   */
  private async resumeLive(cap: Capture, from: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const offsets = new Map(from);
    const ranges: KafkaRange[] = [];
    for (const [kind, state] of cap.states) {
      for (const [tp, o] of state.offsets) if ((from.get(tp) ?? 0) < o) ranges.push({ kind, tp, from: from.get(tp) ?? 0, to: o });
    }
    if (ranges.length > 0) {
      if (!this.d.kafka) throw new K2Error(ErrorCode.KAFKA_UNAVAILABLE, 'resuming this cursor needs Kafka, which this replica does not read');
      await readKafkaRange(this.d.kafka, ranges, async (rows: RangeRows) => {
        const selected = rows.filter(({ kind, row }) => this.selects(kind, row));
        await this.out.live(selected, offsets);
        this.d.metrics?.events.inc({ phase: 'kafka' }, selected.length);
        return !this.out.closed;
      });
    }
    const held = capturedFrom(cap, from);
    await this.out.live(held, offsets);
    this.d.metrics?.events.inc({ phase: 'live' }, held.length);
    for (const [tp, o] of cap.handover) if ((offsets.get(tp) ?? 0) < o) offsets.set(tp, o);
    return offsets;
  }

  private async live(offsets: Map<string, number>): Promise<void> {
    const beat = this.d.heartbeatMs ?? 15_000;
    while (!this.out.closed) {
      if (this.queue.length > 0) {
        const rows = this.queue.splice(0, BATCH);
        await this.out.live(rows, offsets);
        this.d.metrics?.events.inc({ phase: 'live' }, rows.length);
        continue;
      }
      if (this.overrun) {
        this.d.metrics?.ended.inc({ reason: 'overrun' });
        await this.out.control('error', { code: ErrorCode.QUERY_REPLAY_OVERRUN, message: 'the live phase outran this reader; resume with the last event id', cursor: liveCursor(offsets) });
        return;
      }
      let timedOut = false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => ((timedOut = true), resolve()), beat);
        this.wakeLive = () => (clearTimeout(t), resolve());
      });
      this.wakeLive = undefined;
      if (timedOut && this.queue.length === 0 && !this.out.closed) await this.out.heartbeat();
    }
  }
}

/** The captured tail rows at or past a live cursor, per partition in offset order. */
function capturedFrom(cap: Capture, from: ReadonlyMap<string, number>): Capture['tail'] {
  return cap.tail.filter(({ row }) => row.offset >= (from.get(row.tp) ?? 0)).sort((a, b) => (a.row.tp < b.row.tp ? -1 : a.row.tp > b.row.tp ? 1 : a.row.offset - b.row.offset));
}
