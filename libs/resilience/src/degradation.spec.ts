import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { ErrorCode, TransientError } from '@k2/core';
import { createCircuitBreaker, type BreakerState } from './circuit-breaker';
import { DegradationController, DegradationLevel, degradationLevelName, type DegradationChange } from './degradation';

class FakeBreaker extends EventEmitter<{ state: [BreakerState, BreakerState] }> {
  state: BreakerState = 'closed';
  constructor(readonly name: string) {
    super();
  }
  set(next: BreakerState) {
    const prev = this.state;
    this.state = next;
    this.emit('state', next, prev);
  }
}

async function gaugeValue(registry: Registry, component: string): Promise<number | undefined> {
  const metric = await registry.getSingleMetric('k2_degradation_level')!.get();
  return metric.values.find((v) => v.labels['component'] === component)?.value;
}

describe('DegradationController', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });

  it('exports the level as k2_degradation_level{service,component} and follows it', async () => {
    const c = new DegradationController({ service: 'binance-streamer', component: 'producer', registry });
    expect(await gaugeValue(registry, 'producer')).toBe(0);
    c.setLevel(DegradationLevel.GRACEFUL);
    expect(await gaugeValue(registry, 'producer')).toBe(2);
    expect(await registry.metrics()).toContain('k2_degradation_level{service="binance-streamer",component="producer"} 2');

    const other = new DegradationController({ service: 'binance-streamer', component: 'journal', registry });
    other.setLevel(DegradationLevel.HALT);
    expect(await gaugeValue(registry, 'journal')).toBe(4);
    expect(await gaugeValue(registry, 'producer')).toBe(2);
  });

  it('spills while a watched breaker is not closed and emits change events', () => {
    const c = new DegradationController({ service: 's', component: 'producer', registry });
    const changes: DegradationChange[] = [];
    c.on('change', (e) => changes.push(e));
    const b = new FakeBreaker('kafka-producer');
    c.watchBreaker(b);
    expect(c.level).toBe(DegradationLevel.NORMAL);

    b.set('open');
    expect(c.levelName).toBe('SPILL');
    expect(c.shouldSpill()).toBe(true);
    b.set('half-open');
    expect(c.level).toBe(DegradationLevel.SPILL);
    b.set('closed');
    expect(c.level).toBe(DegradationLevel.NORMAL);
    expect(changes).toEqual([
      { level: 3, previous: 0, reason: 'breaker kafka-producer is open' },
      { level: 0, previous: 3, reason: 'all inputs normal' },
    ]);

    c.close();
    b.set('open');
    expect(c.level).toBe(DegradationLevel.NORMAL);
  });

  it('reacts to a real circuit breaker opening', async () => {
    const breaker = createCircuitBreaker(
      async () => {
        throw new TransientError(ErrorCode.KAFKA_UNAVAILABLE, 'down');
      },
      { name: 'kafka-producer', volumeThreshold: 1 },
    );
    const c = new DegradationController({ service: 's', component: 'producer', registry });
    c.watchBreaker(breaker);
    await breaker.fire().catch(() => undefined);
    expect(c.level).toBe(DegradationLevel.SPILL);
    breaker.shutdown();
  });

  it('uses hysteresis so a signal hovering around a threshold does not flap', () => {
    let depth = 0;
    const c = new DegradationController({ service: 's', component: 'producer', registry });
    c.addSignal({ name: 'queueDepth', read: () => depth, thresholds: { soft: 1000, spill: 5000, halt: 10_000 }, hysteresis: 0.2 });
    const changes: number[] = [];
    c.on('change', (e) => changes.push(e.level));

    const at = (v: number) => {
      depth = v;
      return c.evaluate();
    };
    expect(at(999)).toBe(DegradationLevel.NORMAL);
    expect(at(1000)).toBe(DegradationLevel.SOFT);
    // Oscillating between 850 and 1050 stays SOFT: the exit threshold is 1000 × 0.8 = 800.
    for (const v of [850, 1050, 820, 1010, 801]) expect(at(v)).toBe(DegradationLevel.SOFT);
    expect(at(799)).toBe(DegradationLevel.NORMAL);

    expect(at(12_000)).toBe(DegradationLevel.HALT);
    expect(at(8500)).toBe(DegradationLevel.HALT);
    expect(at(7000)).toBe(DegradationLevel.SPILL);
    expect(at(4500)).toBe(DegradationLevel.SPILL);
    expect(at(900)).toBe(DegradationLevel.SOFT);
    expect(at(0)).toBe(DegradationLevel.NORMAL);
    expect(changes).toEqual([1, 0, 4, 3, 1, 0]);
  });

  it('steps down only after the recovery delay, rising at once', () => {
    let now = 0;
    let lag = 0;
    const c = new DegradationController({ service: 's', component: 'consumer', registry, recoveryDelayMs: 5000, now: () => now });
    c.addSignal({ name: 'lag', read: () => lag, thresholds: { graceful: 100 }, hysteresis: 0 });
    lag = 150;
    expect(c.evaluate()).toBe(DegradationLevel.GRACEFUL);
    lag = 10;
    now = 1000;
    expect(c.evaluate()).toBe(DegradationLevel.GRACEFUL);
    now = 5999;
    expect(c.evaluate()).toBe(DegradationLevel.GRACEFUL);
    now = 6000;
    expect(c.evaluate()).toBe(DegradationLevel.NORMAL);
  });

  it('takes the highest input, lets an override win until cleared', () => {
    let depth = 0;
    const c = new DegradationController({ service: 's', component: 'producer', registry });
    const b = new FakeBreaker('kafka');
    c.watchBreaker(b);
    c.addSignal({ name: 'queueDepth', read: () => depth, thresholds: { soft: 10, halt: 100 } });
    depth = 20;
    b.set('open');
    expect(c.level).toBe(DegradationLevel.SPILL);
    depth = 200;
    expect(c.evaluate()).toBe(DegradationLevel.HALT);

    c.setLevel(DegradationLevel.NORMAL, 'operator');
    expect(c.evaluate()).toBe(DegradationLevel.NORMAL);
    depth = 0;
    c.clearOverride();
    expect(c.level).toBe(DegradationLevel.SPILL);
  });

  it('keeps the last level of a signal that cannot be read', () => {
    let fail = false;
    const c = new DegradationController({ service: 's', component: 'x', registry });
    c.addSignal({
      name: 'lag',
      read: () => {
        if (fail) throw new Error('admin client down');
        return 50;
      },
      thresholds: { soft: 10 },
    });
    expect(c.level).toBe(DegradationLevel.SOFT);
    fail = true;
    expect(c.evaluate()).toBe(DegradationLevel.SOFT);
  });

  it('rejects thresholds that do not increase with the level', () => {
    const c = new DegradationController({ service: 's', component: 'x', registry });
    expect(() => c.addSignal({ name: 'q', read: () => 0, thresholds: { soft: 10, spill: 10 } })).toThrow('thresholds must increase');
    expect(() => c.addSignal({ name: 'q', read: () => 0, thresholds: { soft: 1 }, hysteresis: 1 })).toThrow('hysteresis');
  });

  it.each([
    [DegradationLevel.NORMAL, false, false],
    [DegradationLevel.SOFT, true, false],
    [DegradationLevel.GRACEFUL, true, false],
    [DegradationLevel.SPILL, true, false],
    [DegradationLevel.HALT, true, true],
  ])('at level %i sheds quotes=%s trades=%s', (level, quotes, trades) => {
    const c = new DegradationController({ service: 's', component: 'x', registry });
    c.setLevel(level);
    expect(c.shouldShed('quotes')).toBe(quotes);
    expect(c.shouldShed('trades')).toBe(trades);
    expect(c.shouldHalt()).toBe(level === DegradationLevel.HALT);
    expect(c.shouldDeferOptionalWork()).toBe(level >= DegradationLevel.GRACEFUL);
    expect(degradationLevelName(level)).toBe(['NORMAL', 'SOFT', 'GRACEFUL', 'SPILL', 'HALT'][level]);
  });
});
