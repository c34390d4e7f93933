import { toK2Error, type Logger } from '@k2/core';
import { retry, sleep, type RetryPolicy } from '@k2/resilience';
import { AVRO_LONG_MAX } from '@k2/schema';
import type { BackfillSource, DecodeContext, FeedTrade } from './types';

/** Where in-order trades go. `false` means "not accepted now" (journal full, input halted): the id is not consumed. */
export interface TradeSink {
  publishTrade(trade: FeedTrade): boolean;
}

export interface SequencerMetrics {
  gapDetected(symbol: string, missing: bigint): void;
  backfilled(symbol: string, count: number): void;
  duplicate(symbol: string): void;
  /** Ids that neither the live feed nor the REST history could supply. */
  unfilled(symbol: string, missing: bigint): void;
}

export interface SequencerOptions {
  sink: TradeSink;
  backfill: BackfillSource;
  metrics: SequencerMetrics;
  logger: Logger;
  exchange: string;
  /** Live trades held per symbol while a backfill runs; beyond this they are dropped and fetched again later. */
  maxBuffered?: number;
  /** REST attempts per page before the gap is declared unfillable. */
  maxAttempts?: number;
  /** Delays between REST attempts. Default 500 ms doubling to 10 s, 30 % jitter. */
  retryPolicy?: Pick<RetryPolicy, 'initialMs' | 'factor' | 'maxMs' | 'jitter' | 'random'>;
  /** Degradation GRACEFUL and above defers backfill; polled between pages. */
  deferBackfill?: () => boolean;
  /** A trade whose id is outside 0..2^63-1 (it never becomes the last id); the streamer dead-letters it. */
  onInvalidTrade?: (trade: FeedTrade, reason: string) => void;
  now?: () => bigint;
}

interface SymbolState {
  last: bigint | undefined;
  lastTs: bigint;
  running: Promise<void> | undefined;
  buffer: FeedTrade[];
  loggedAt: number;
}

/**
 * Makes one symbol's trade stream gap-free and duplicate-free, in trade-id order. Binance and Kraken both number
 * trades sequentially per symbol, so a jump in ids is a hole: missing ids are fetched from REST while newer live
 * trades wait in a buffer, then everything is released in order. Ids at or below the last released one are
 * overlap (reconnect snapshots, rotation overlap, REST pages) and are dropped.
 */
export class TradeSequencer {
  private readonly states = new Map<string, SymbolState>();
  private readonly maxBuffered: number;
  private readonly maxAttempts: number;
  private readonly now: () => bigint;
  private stopped = false;
  private readonly stopping = new AbortController();

  constructor(private readonly o: SequencerOptions) {
    this.maxBuffered = o.maxBuffered ?? 50_000;
    this.maxAttempts = o.maxAttempts ?? 6;
    this.now = o.now ?? (() => BigInt(Date.now()) * 1000n);
  }

  /** The last trade id released for a symbol (e.g. found at the tail of the Kafka topic at start-up). */
  seed(symbol: string, tradeId: bigint, timestampMicros: bigint): void {
    const s = this.state(symbol);
    if (s.last === undefined || tradeId > s.last) {
      s.last = tradeId;
      s.lastTs = timestampMicros;
    }
  }

  lastId(symbol: string): bigint | undefined {
    return this.states.get(symbol)?.last;
  }

  onTrade(t: FeedTrade): void {
    if (!this.validId(t)) return;
    const s = this.state(t.symbol);
    if (s.running) {
      if (s.last !== undefined && t.tradeId <= s.last) this.o.metrics.duplicate(t.symbol);
      else if (s.buffer.length < this.maxBuffered) s.buffer.push(t);
      // else: dropped here, fetched again by the gap it leaves behind.
      return;
    }
    if (s.last === undefined || t.tradeId === s.last + 1n) {
      this.release(s, t);
      return;
    }
    if (t.tradeId <= s.last) {
      this.o.metrics.duplicate(t.symbol);
      return;
    }
    this.o.metrics.gapDetected(t.symbol, t.tradeId - s.last - 1n);
    // One line per symbol per 5 s at most: under overload every frame can be a gap, and the metric counts them all.
    const now = Date.now();
    if (now - s.loggedAt >= 5000) {
      s.loggedAt = now;
      this.o.logger.warn('trade id gap, backfilling from REST', {
        exchange: this.o.exchange,
        symbol: t.symbol,
        last_trade_id: s.last.toString(),
        received_trade_id: t.tradeId.toString(),
      });
    }
    s.buffer.push(t);
    this.startBackfill(t.symbol, s);
  }

  /** After any reconnect, trades may have happened while nobody listened: fetch them for every known symbol. */
  onReconnected(): void {
    for (const [symbol, s] of this.states) {
      if (s.last !== undefined && !s.running) this.startBackfill(symbol, s);
    }
  }

  /** Resolves once no backfill is running (or after `timeoutMs`). */
  async idle(timeoutMs = 60_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const running = [...this.states.values()].map((s) => s.running).filter((p): p is Promise<void> => p !== undefined);
      if (running.length === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await Promise.race([Promise.all(running), new Promise((r) => setTimeout(r, left))]);
    }
  }

  get backfilling(): number {
    let n = 0;
    for (const s of this.states.values()) if (s.running) n++;
    return n;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort();
  }

  /**
   * Ids are an Avro long (source_sequence): one outside 0..2^63-1 would fail encoding, or as the last id make every
   * later trade look like a duplicate (issue 18). The mappers refuse them; this keeps any adapter from poisoning.
   */
  private validId(t: FeedTrade): boolean {
    if (t.tradeId >= 0n && t.tradeId <= AVRO_LONG_MAX) return true;
    const reason = `trade id ${t.tradeId} is outside 0..${AVRO_LONG_MAX} (signed 64-bit)`;
    if (this.o.onInvalidTrade) this.o.onInvalidTrade(t, reason);
    else this.o.logger.error('trade refused', { exchange: this.o.exchange, symbol: t.symbol, reason });
    return false;
  }

  private state(symbol: string): SymbolState {
    let s = this.states.get(symbol);
    if (!s) {
      s = { last: undefined, lastTs: 0n, running: undefined, buffer: [], loggedAt: 0 };
      this.states.set(symbol, s);
    }
    return s;
  }

  private release(s: SymbolState, t: FeedTrade): boolean {
    if (!this.o.sink.publishTrade(t)) return false;
    s.last = t.tradeId;
    s.lastTs = t.record.timestamp;
    return true;
  }

  private startBackfill(symbol: string, s: SymbolState): void {
    s.running = this.backfill(symbol, s)
      .catch((err) => {
        this.o.logger.error('backfill failed', { exchange: this.o.exchange, symbol, error: toK2Error(err).toJSON() });
      })
      .finally(() => {
        s.running = undefined;
      });
  }

  private async backfill(symbol: string, s: SymbolState): Promise<void> {
    let fetched = 0;
    let halted = false;
    // Open-ended after a reconnect (catch up to whatever REST has) until a live trade arrives and bounds it.
    while (!this.stopped && !halted) {
      const target = s.buffer.length > 0 ? minId(s.buffer) - 1n : undefined;
      if (s.last === undefined || (target !== undefined && s.last >= target)) {
        if (!this.drain(symbol, s)) break;
        continue;
      }
      const page = await this.fetchPage(symbol, s);
      const fresh = page === undefined ? [] : page.filter((t) => this.validId(t) && (s.last === undefined || t.tradeId > s.last)).sort(byId);
      if (fresh.length === 0) {
        if (target !== undefined) {
          // REST has nothing more (history trimmed or endpoint failing): the hole is permanent. Say so loudly.
          const missing = target - (s.last as bigint);
          this.o.metrics.unfilled(symbol, missing);
          this.o.logger.error('trade gap could not be backfilled', {
            exchange: this.o.exchange,
            symbol,
            from_trade_id: ((s.last as bigint) + 1n).toString(),
            to_trade_id: target.toString(),
            missing: missing.toString(),
          });
          s.last = target;
          continue;
        }
        if (s.buffer.length === 0) break;
        continue;
      }
      let released = 0;
      for (const t of fresh) {
        if (target !== undefined && t.tradeId > target) break;
        if (t.tradeId !== (s.last as bigint) + 1n) {
          this.o.metrics.unfilled(symbol, t.tradeId - (s.last as bigint) - 1n);
        }
        if (!this.release(s, t)) {
          halted = true;
          break;
        }
        released++;
      }
      fetched += released;
      this.o.metrics.backfilled(symbol, released);
      if (released === 0 && !halted) {
        if (target === undefined) {
          if (s.buffer.length === 0) break;
        } else {
          // REST skipped straight past the hole: those ids are gone.
          this.o.metrics.unfilled(symbol, target - (s.last as bigint));
          s.last = target;
        }
      }
    }
    if (halted) s.buffer.length = 0;
    if (fetched > 0) this.o.logger.info('backfill done', { exchange: this.o.exchange, symbol, trades: fetched, last_trade_id: s.last?.toString() });
  }

  /** Releases buffered live trades that are now in order; false when a new hole needs another REST round. */
  private drain(symbol: string, s: SymbolState): boolean {
    s.buffer.sort(byId);
    let i = 0;
    for (; i < s.buffer.length; i++) {
      const t = s.buffer[i] as FeedTrade;
      if (s.last !== undefined && t.tradeId <= s.last) {
        this.o.metrics.duplicate(symbol);
        continue;
      }
      if (s.last !== undefined && t.tradeId !== s.last + 1n) {
        this.o.metrics.gapDetected(symbol, t.tradeId - s.last - 1n);
        s.buffer = s.buffer.slice(i);
        return true;
      }
      if (!this.release(s, t)) {
        s.buffer.length = 0;
        return false;
      }
    }
    s.buffer.length = 0;
    return false;
  }

  /** One page after the last released id: retriable failures are retried up to maxAttempts; undefined = give up. */
  private async fetchPage(symbol: string, s: SymbolState): Promise<readonly FeedTrade[] | undefined> {
    const signal = this.stopping.signal;
    const fetch = async ({ attempt }: { attempt: number }): Promise<readonly FeedTrade[]> => {
      while (this.o.deferBackfill?.() && !this.stopped) await sleep(500, signal);
      if (this.stopped) throw signal.reason;
      const ctx: DecodeContext = { receivedAtMicros: this.now() };
      try {
        return await this.o.backfill.fetchAfter(symbol, { tradeId: s.last as bigint, timestampMicros: s.lastTs }, ctx);
      } catch (err) {
        const e = toK2Error(err);
        this.o.logger.warn('backfill request failed', { exchange: this.o.exchange, symbol, attempt, error: e.toJSON() });
        throw e;
      }
    };
    try {
      return await retry(fetch, { initialMs: 500, maxMs: 10_000, jitter: 0.3, ...this.o.retryPolicy, maxAttempts: this.maxAttempts, signal });
    } catch {
      return undefined;
    }
  }
}

function minId(ts: readonly FeedTrade[]): bigint {
  let m = (ts[0] as FeedTrade).tradeId;
  for (const t of ts) if (t.tradeId < m) m = t.tradeId;
  return m;
}

const byId = (a: FeedTrade, b: FeedTrade): number => (a.tradeId < b.tradeId ? -1 : a.tradeId > b.tradeId ? 1 : 0);
