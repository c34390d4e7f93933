import { EventEmitter } from 'node:events';
import { Gauge, type Registry } from 'prom-client';
import { ErrorCode, K2Error } from '@k2/core';
import type { BreakerState } from './circuit-breaker';

/**
 * The 5-level degradation cascade. Each level includes the measures of the levels below it:
 *
 * - NORMAL (0): everything flows.
 * - SOFT (1): shed quotes. A quote is superseded by the next one for the same symbol, so dropping quotes loses
 *   nothing a consumer cannot get again within milliseconds.
 * - GRACEFUL (2): also defer optional work (REST backfill, snapshot refresh, enrichment) to keep capacity for
 *   the live trade path.
 * - SPILL (3): Kafka (or whatever sink) is unavailable or too slow: trades go to the local disk journal and
 *   are replayed once the sink recovers.
 * - HALT (4): stop reading input. Only here are trades shed: whatever is in flight when input stops is dropped
 *   and recovered by gap detection/backfill after resuming.
 */
export const DegradationLevel = { NORMAL: 0, SOFT: 1, GRACEFUL: 2, SPILL: 3, HALT: 4 } as const;
export type DegradationLevel = (typeof DegradationLevel)[keyof typeof DegradationLevel];

const NAMES = ['NORMAL', 'SOFT', 'GRACEFUL', 'SPILL', 'HALT'] as const;
export type DegradationLevelName = (typeof NAMES)[number];

export function degradationLevelName(level: DegradationLevel): DegradationLevelName {
  return NAMES[level];
}

export type ShedKind = 'quotes' | 'trades';

/** Enter thresholds of a pressure signal, per level; omitted levels are never entered by this signal. */
export interface PressureThresholds {
  soft?: number;
  graceful?: number;
  spill?: number;
  halt?: number;
}

/**
 * A pluggable pressure input such as producer queue depth or consumer lag. The signal enters a level when its
 * value reaches that level's threshold and leaves it only once the value drops below threshold × (1 − hysteresis),
 * so a value hovering around a threshold does not flap between two levels.
 */
export interface PressureSignal {
  name: string;
  read: () => number;
  thresholds: PressureThresholds;
  /** Fraction in [0, 1) below the enter threshold at which a level is left again. Default 0.2. */
  hysteresis?: number;
}

/** The minimal breaker surface the controller watches; `CircuitBreaker` satisfies it. */
export interface WatchableBreaker {
  readonly name: string;
  readonly state: BreakerState;
  on(event: 'state', listener: (state: BreakerState, previous: BreakerState) => void): unknown;
  off(event: 'state', listener: (state: BreakerState, previous: BreakerState) => void): unknown;
}

export interface DegradationChange {
  level: DegradationLevel;
  previous: DegradationLevel;
  /** Which input decided the new level, e.g. "breaker kafka-producer is open" or "override". */
  reason: string;
}

export interface DegradationEvents {
  change: [change: DegradationChange];
}

export interface DegradationControllerOptions {
  service: string;
  /** What this controller protects, e.g. "producer"; the second label of the gauge. */
  component: string;
  registry: Registry;
  /**
   * How long the derived level must stay lower before the controller steps down, in ms; rising is immediate.
   * Only observed on `evaluate()` calls, so use `start()` (or call `evaluate()` yourself) when setting it. Default 0.
   */
  recoveryDelayMs?: number;
  /** Injectable clock for tests. */
  now?: () => number;
}

export const DEGRADATION_GAUGE = 'k2_degradation_level';

interface SignalState {
  signal: PressureSignal;
  steps: Array<[DegradationLevel, number]>;
  hysteresis: number;
  level: DegradationLevel;
  value: number | undefined;
}

interface BreakerWatch {
  breaker: WatchableBreaker;
  openLevel: DegradationLevel;
  listener: () => void;
}

/**
 * Derives the degradation level of one component from its inputs: watched circuit breakers (any breaker not
 * closed puts the component at its `openLevel`, SPILL by default, until the breaker has closed again) and
 * pressure signals. The level is the highest level any input asks for, unless an operator override is set.
 * Every change is emitted as a `change` event and exported as the `k2_degradation_level{service,component}` gauge.
 */
export class DegradationController extends EventEmitter<DegradationEvents> {
  readonly service: string;
  readonly component: string;
  private readonly gauge: Gauge<'service' | 'component'>;
  private readonly signals = new Map<string, SignalState>();
  private readonly breakers: BreakerWatch[] = [];
  private readonly recoveryDelayMs: number;
  private readonly now: () => number;
  private current: DegradationLevel = DegradationLevel.NORMAL;
  private override: DegradationLevel | undefined;
  private lowerSince: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: DegradationControllerOptions) {
    super();
    this.service = opts.service;
    this.component = opts.component;
    this.recoveryDelayMs = opts.recoveryDelayMs ?? 0;
    this.now = opts.now ?? Date.now;
    // Several components of one service share the registry, hence one gauge with a component label.
    const existing = opts.registry.getSingleMetric(DEGRADATION_GAUGE);
    this.gauge =
      (existing as Gauge<'service' | 'component'> | undefined) ??
      new Gauge({
        name: DEGRADATION_GAUGE,
        help: 'Degradation level: 0=NORMAL 1=SOFT 2=GRACEFUL 3=SPILL 4=HALT',
        labelNames: ['service', 'component'],
        registers: [opts.registry],
      });
    this.publish();
  }

  get level(): DegradationLevel {
    return this.current;
  }

  get levelName(): DegradationLevelName {
    return degradationLevelName(this.current);
  }

  /** Quotes are shed from SOFT upwards, trades only at HALT (see `DegradationLevel`). */
  shouldShed(kind: ShedKind): boolean {
    return this.current >= (kind === 'quotes' ? DegradationLevel.SOFT : DegradationLevel.HALT);
  }

  /** Backfill, snapshot refresh and other work that can wait is deferred from GRACEFUL upwards. */
  shouldDeferOptionalWork(): boolean {
    return this.current >= DegradationLevel.GRACEFUL;
  }

  /** Write to the local disk journal instead of the sink. */
  shouldSpill(): boolean {
    return this.current >= DegradationLevel.SPILL;
  }

  /** Stop reading input. */
  shouldHalt(): boolean {
    return this.current >= DegradationLevel.HALT;
  }

  watchBreaker(breaker: WatchableBreaker, opts: { openLevel?: DegradationLevel } = {}): void {
    const listener = () => this.evaluate();
    breaker.on('state', listener);
    this.breakers.push({ breaker, openLevel: opts.openLevel ?? DegradationLevel.SPILL, listener });
    this.evaluate();
  }

  addSignal(signal: PressureSignal): void {
    if (this.signals.has(signal.name)) throw invalid(`pressure signal ${signal.name} is already registered`);
    const hysteresis = signal.hysteresis ?? 0.2;
    if (!(hysteresis >= 0 && hysteresis < 1)) throw invalid(`pressure signal ${signal.name}: hysteresis must be in [0, 1)`);
    const t = signal.thresholds;
    const steps = (
      [
        [DegradationLevel.SOFT, t.soft],
        [DegradationLevel.GRACEFUL, t.graceful],
        [DegradationLevel.SPILL, t.spill],
        [DegradationLevel.HALT, t.halt],
      ] as Array<[DegradationLevel, number | undefined]>
    ).filter((s): s is [DegradationLevel, number] => s[1] !== undefined);
    const enters = steps.map(([, enter]) => enter);
    if (enters.some((enter, i) => i > 0 && !(enter > (enters[i - 1] ?? -Infinity)))) {
      throw invalid(`pressure signal ${signal.name}: thresholds must increase with the level`);
    }
    this.signals.set(signal.name, { signal, steps, hysteresis, level: DegradationLevel.NORMAL, value: undefined });
    this.evaluate();
  }

  /** Forces the level regardless of inputs until `clearOverride()`. */
  setLevel(level: DegradationLevel, reason = 'override'): void {
    this.override = level;
    this.apply(level, reason);
  }

  /** Returns to the derived level at once; the recovery delay does not apply to lifting an override. */
  clearOverride(): void {
    this.override = undefined;
    this.lowerSince = undefined;
    const { level, reason } = this.derive();
    this.apply(level, reason === 'all inputs normal' ? 'override cleared' : reason);
  }

  /** Reads every pressure signal and recomputes the level; returns the (possibly unchanged) level. */
  evaluate(): DegradationLevel {
    const { level: derived, reason } = this.derive();
    if (this.override !== undefined) return this.current;

    if (derived >= this.current) {
      this.lowerSince = undefined;
      this.apply(derived, reason);
    } else {
      const now = this.now();
      this.lowerSince ??= now;
      if (now - this.lowerSince >= this.recoveryDelayMs) {
        this.lowerSince = undefined;
        this.apply(derived, reason);
      }
    }
    return this.current;
  }

  /** Polls the pressure signals every `intervalMs`; the timer does not keep the process alive. */
  start(intervalMs = 1000): void {
    this.stop();
    this.timer = setInterval(() => this.evaluate(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stops polling and detaches from the watched breakers. */
  close(): void {
    this.stop();
    for (const w of this.breakers.splice(0)) w.breaker.off('state', w.listener);
  }

  private derive(): { level: DegradationLevel; reason: string } {
    let derived: DegradationLevel = DegradationLevel.NORMAL;
    let reason = 'all inputs normal';
    for (const w of this.breakers) {
      if (w.breaker.state !== 'closed' && w.openLevel > derived) {
        derived = w.openLevel;
        reason = `breaker ${w.breaker.name} is ${w.breaker.state}`;
      }
    }
    for (const s of this.signals.values()) {
      const value = readSafely(s.signal);
      if (value !== undefined) {
        s.value = value;
        s.level = signalLevel(value, s.steps, s.level, s.hysteresis);
      }
      if (s.level > derived) {
        derived = s.level;
        reason = `signal ${s.signal.name}=${s.value} is at ${degradationLevelName(s.level)}`;
      }
    }
    return { level: derived, reason };
  }

  private apply(level: DegradationLevel, reason: string): void {
    const previous = this.current;
    if (level === previous) return;
    this.current = level;
    this.publish();
    this.emit('change', { level, previous, reason });
  }

  private publish(): void {
    this.gauge.set({ service: this.service, component: this.component }, this.current);
  }
}

function signalLevel(
  value: number,
  steps: ReadonlyArray<[DegradationLevel, number]>,
  current: DegradationLevel,
  hysteresis: number,
): DegradationLevel {
  let up: DegradationLevel = DegradationLevel.NORMAL;
  for (const [level, enter] of steps) if (value >= enter) up = level;
  if (up >= current) return up;
  // Falling: keep the highest level at or below the current one whose exit threshold is still reached.
  let down: DegradationLevel = DegradationLevel.NORMAL;
  for (const [level, enter] of steps) if (level <= current && value >= enter * (1 - hysteresis)) down = level;
  return down;
}

function readSafely(signal: PressureSignal): number | undefined {
  try {
    const v = signal.read();
    return Number.isFinite(v) ? v : undefined;
  } catch {
    // A signal that cannot be read keeps its last level rather than pretending the pressure is gone.
    return undefined;
  }
}

function invalid(message: string): K2Error {
  return new K2Error(ErrorCode.CONFIG_INVALID, message);
}
