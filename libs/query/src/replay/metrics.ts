import type { Counter, Gauge, Registry } from 'prom-client';
import { registryCounter, registryGauge } from '@k2/runtime';

export type ReplayPhase = 'history' | 'live' | 'kafka';

/** Replay-then-follow metrics (issue 16): events sent per phase, replays open, and how replays ended. */
export class ReplayMetrics {
  readonly events: Counter<'phase'>;
  readonly open: Gauge;
  readonly ended: Counter<'reason'>;

  constructor(registry: Registry) {
    this.events = registryCounter(registry, 'k2_query_replay_events_total', 'Replay events sent, by phase: history (table + tail at the capture), live, kafka (read back for a live resume)', ['phase']);
    this.open = registryGauge(registry, 'k2_query_replays_open', 'Replays streaming now', []);
    this.ended = registryCounter(registry, 'k2_query_replays_ended_total', 'Replays ended, by reason: client (disconnect), end (window done), overrun, error', ['reason']);
  }
}
