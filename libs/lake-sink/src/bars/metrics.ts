import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registryCounter, registryGauge, registryHistogram } from '@k2/runtime';

/** Minute-bar maintenance metrics (ADR 0024); a failing or lagging bars step never holds up the trades commits. */
export class BarsMetrics {
  readonly commits: Counter<'mode'>;
  readonly commitDuration: Histogram;
  readonly failures: Counter<'code'>;
  readonly casRetries: Counter;
  readonly tradesFolded: Counter;
  readonly barsWritten: Counter;
  readonly lagSnapshots: Gauge;
  readonly lastSuccess: Gauge;

  constructor(registry: Registry) {
    this.commits = registryCounter(registry, 'k2_writer_bars_commits_total', 'bars_1m_v2 commits, by mode (fold = new trades snapshots, rebuild = from all trades files)', ['mode']);
    this.commitDuration = registryHistogram(registry, 'k2_writer_bars_commit_duration_seconds', 'Duration of one bars_1m_v2 catch-up (aggregate + write + commit)', [], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120]);
    this.failures = registryCounter(registry, 'k2_writer_bars_failures_total', 'Failed bars_1m_v2 catch-ups (retried with backoff)', ['code']);
    this.casRetries = registryCounter(registry, 'k2_writer_bars_cas_retries_total', 'bars_1m_v2 commits that lost a race and were recomputed on fresh metadata', []);
    this.tradesFolded = registryCounter(registry, 'k2_writer_bars_trades_folded_total', 'Trade rows aggregated into bars_1m_v2', []);
    this.barsWritten = registryCounter(registry, 'k2_writer_bars_rows_written_total', 'Bar rows written (rewritten partitions included)', []);
    this.lagSnapshots = registryGauge(registry, 'k2_writer_bars_lag_snapshots', 'trades_v2 snapshots not yet folded into bars_1m_v2 (at the last check)', []);
    this.lastSuccess = registryGauge(registry, 'k2_writer_bars_last_success_timestamp_seconds', 'When bars_1m_v2 was last brought up to date with trades_v2', []);
  }
}
