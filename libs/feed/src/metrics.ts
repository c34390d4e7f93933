import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { registryCounter, registryGauge } from '@k2/runtime';
import type { SequencerMetrics } from './sequencer';

/**
 * The streamer metrics. The per-exchange connection series keep the seed names (`k2_binance_connection_status`,
 * `k2_binance_messages_received_total`, `k2_binance_reconnects_total`, `k2_binance_errors_total`, and the Kraken
 * equivalents); the pipeline series are shared by both exchanges with an `exchange` label.
 */
export class FeedMetrics implements SequencerMetrics {
  readonly connectionStatus: Gauge<'endpoint'>;
  readonly messagesReceived: Counter<'type'>;
  readonly reconnects: Counter<'reason'>;
  readonly errors: Counter<'kind'>;
  readonly gaps: Counter<'exchange' | 'symbol'>;
  readonly gapTradesMissing: Counter<'exchange' | 'symbol'>;
  readonly backfilledTrades: Counter<'exchange' | 'symbol'>;
  readonly unfilledTrades: Counter<'exchange' | 'symbol'>;
  readonly duplicates: Counter<'exchange' | 'symbol'>;
  readonly published: Counter<'exchange' | 'topic'>;
  readonly shed: Counter<'exchange' | 'topic'>;
  readonly dlq: Counter<'topic' | 'code'>;
  readonly journalBytes: Gauge<'exchange'>;
  readonly journalEntries: Gauge<'exchange'>;
  readonly journalReplayed: Counter<'exchange'>;
  readonly journalCorrupt: Counter<'exchange'>;
  readonly produceLatency: Histogram<'topic'>;
  private readonly perSymbol = new Map<string, { gaps: Counter; missing: Counter; backfilled: Counter; unfilled: Counter; duplicates: Counter }>();

  constructor(
    registry: Registry,
    readonly exchange: string,
  ) {
    const p = `k2_${exchange}`;
    this.connectionStatus = registryGauge(registry, `${p}_connection_status`, `1 while a ${exchange} WebSocket connection is open and subscribed, else 0`, ['endpoint']);
    this.messagesReceived = registryCounter(registry, `${p}_messages_received_total`, `Frames received from ${exchange}, by decoded type`, ['type']);
    this.reconnects = registryCounter(registry, `${p}_reconnects_total`, `Reconnections to ${exchange}, by reason`, ['reason']);
    this.errors = registryCounter(registry, `${p}_errors_total`, `Errors on the ${exchange} feed, by kind`, ['kind']);
    this.gaps = registryCounter(registry, 'k2_feed_gaps_detected_total', 'Trade id gaps detected', ['exchange', 'symbol']);
    this.gapTradesMissing = registryCounter(registry, 'k2_feed_gap_trades_missing_total', 'Trade ids missing when gaps were detected', ['exchange', 'symbol']);
    this.backfilledTrades = registryCounter(registry, 'k2_feed_trades_backfilled_total', 'Trades recovered from REST history', ['exchange', 'symbol']);
    this.unfilledTrades = registryCounter(registry, 'k2_feed_trades_unfilled_total', 'Trade ids that neither the feed nor REST could supply', ['exchange', 'symbol']);
    this.duplicates = registryCounter(registry, 'k2_feed_duplicates_dropped_total', 'Trades dropped as already published (overlaps)', ['exchange', 'symbol']);
    this.published = registryCounter(registry, 'k2_feed_records_published_total', 'Records acknowledged by Kafka', ['exchange', 'topic']);
    this.shed = registryCounter(registry, 'k2_feed_records_shed_total', 'Quotes shed under degradation', ['exchange', 'topic']);
    this.dlq = registryCounter(registry, 'k2_dlq_messages_total', 'Messages sent to a dead-letter topic, by reason code', ['topic', 'code']);
    this.journalBytes = registryGauge(registry, 'k2_feed_journal_bytes', 'Bytes in the local trade journal awaiting Kafka', ['exchange']);
    this.journalEntries = registryGauge(registry, 'k2_feed_journal_entries', 'Trades in the local journal awaiting Kafka', ['exchange']);
    this.journalReplayed = registryCounter(registry, 'k2_feed_journal_replayed_total', 'Journaled trades replayed to Kafka', ['exchange']);
    this.journalCorrupt = registryCounter(registry, 'k2_feed_journal_corrupt_lines_total', 'Torn or garbled journal lines skipped (never replayed)', ['exchange']);
    this.produceLatency =
      (registry.getSingleMetric('k2_produce_latency_seconds') as Histogram<'topic'> | undefined) ??
      new Histogram({
        name: 'k2_produce_latency_seconds',
        help: 'From hand-off to the producer until the broker acknowledged',
        labelNames: ['topic'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      });
  }

  /**
   * Creates every per-symbol series at 0 for the configured symbols. A labelled prom-client counter is exported
   * only from its first increment, so without this `increase()` over the first gap or unfilled trade of a symbol
   * sees one sample and misses the step (issue 18 review). The exchange-level journal counters start at 0 too.
   */
  initSymbols(symbols: readonly string[]): void {
    for (const symbol of symbols) {
      const m = this.sym(symbol);
      for (const c of [m.gaps, m.missing, m.backfilled, m.unfilled, m.duplicates]) c.inc(0);
    }
    this.journalReplayed.labels(this.exchange).inc(0);
    this.journalCorrupt.labels(this.exchange).inc(0);
  }

  private sym(symbol: string) {
    let m = this.perSymbol.get(symbol);
    if (!m) {
      const l = { exchange: this.exchange, symbol };
      m = {
        gaps: this.gaps.labels(l) as unknown as Counter,
        missing: this.gapTradesMissing.labels(l) as unknown as Counter,
        backfilled: this.backfilledTrades.labels(l) as unknown as Counter,
        unfilled: this.unfilledTrades.labels(l) as unknown as Counter,
        duplicates: this.duplicates.labels(l) as unknown as Counter,
      };
      this.perSymbol.set(symbol, m);
    }
    return m;
  }

  gapDetected(symbol: string, missing: bigint): void {
    const m = this.sym(symbol);
    m.gaps.inc();
    m.missing.inc(Number(missing));
  }
  backfilled(symbol: string, count: number): void {
    if (count > 0) this.sym(symbol).backfilled.inc(count);
  }
  duplicate(symbol: string): void {
    this.sym(symbol).duplicates.inc();
  }
  unfilled(symbol: string, missing: bigint): void {
    this.sym(symbol).unfilled.inc(Number(missing));
  }
}
