import { ErrorCode, K2Error, TransientError, ValidationError } from '@k2/core';
import { CircuitOpenError, createCircuitBreaker, type BreakerState } from './circuit-breaker';
import type { WatchableBreaker } from './degradation';

const unavailable = () => new TransientError(ErrorCode.KAFKA_UNAVAILABLE, 'broker unreachable');

function nextState(b: WatchableBreaker, want: BreakerState): Promise<void> {
  return new Promise((resolve) => {
    const on = (s: BreakerState) => {
      if (s === want) {
        b.off('state', on);
        resolve();
      }
    };
    b.on('state', on);
  });
}

describe('CircuitBreaker', () => {
  const breakers: Array<{ shutdown(): void }> = [];
  const make = <A extends unknown[], R>(action: (...a: A) => Promise<R>, opts: Partial<Parameters<typeof createCircuitBreaker>[1]> = {}) => {
    const b = createCircuitBreaker(action, { name: 'test', volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeout: 60_000, ...opts });
    breakers.push(b);
    return b;
  };
  afterEach(() => breakers.splice(0).forEach((b) => b.shutdown()));

  it('passes results and arguments through while closed', async () => {
    const b = make(async (s: string) => s.toUpperCase());
    await expect(b.fire('abc')).resolves.toBe('ABC');
    expect(b.state).toBe('closed');
  });

  it('opens on retriable errors and then fails fast with K2_CIRCUIT_OPEN caused by the last failure', async () => {
    const errors = [unavailable(), unavailable()];
    let calls = 0;
    const b = make(async () => {
      throw errors[calls++]!;
    });
    const states: BreakerState[] = [];
    b.on('state', (s) => states.push(s));

    await expect(b.fire()).rejects.toBe(errors[0]);
    await expect(b.fire()).rejects.toBe(errors[1]);
    expect(b.state).toBe('open');
    expect(states).toEqual(['open']);

    const rejected = jest.fn();
    b.on('reject', rejected);
    const err = await b.fire().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toBeInstanceOf(K2Error);
    expect(err).toMatchObject({ code: 'K2_CIRCUIT_OPEN', retriable: true, breaker: 'test' });
    expect((err as Error).cause).toBe(errors[1]);
    expect(calls).toBe(2);
    expect(rejected).toHaveBeenCalledWith(err);
  });

  it('passes non-retriable errors to the caller without tripping', async () => {
    const failure = jest.fn();
    const b = make(async () => {
      throw new ValidationError('bad row');
    });
    b.on('failure', failure);
    for (let i = 0; i < 10; i++) await expect(b.fire()).rejects.toBeInstanceOf(ValidationError);
    // Unclassified errors are not retriable either, so they pass through the same way.
    const plain = make(async () => {
      throw new Error('boom');
    });
    for (let i = 0; i < 10; i++) await expect(plain.fire()).rejects.toThrow('boom');
    expect(b.state).toBe('closed');
    expect(plain.state).toBe('closed');
    expect(failure).not.toHaveBeenCalled();
  });

  it('counts a timeout as a retriable K2_TIMEOUT failure', async () => {
    const b = make(() => new Promise<never>(() => undefined), { timeout: 10, volumeThreshold: 1 });
    const err = await b.fire().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'K2_TIMEOUT', retriable: true });
    expect(b.state).toBe('open');
  });

  it('goes half-open after resetTimeout, closes on a successful trial and reopens on a failed one', async () => {
    let healthy = false;
    const b = make(
      async () => {
        if (!healthy) throw unavailable();
        return 'ok';
      },
      { resetTimeout: 30 },
    );
    await b.fire().catch(() => undefined);
    await b.fire().catch(() => undefined);
    expect(b.state).toBe('open');

    await nextState(b, 'half-open');
    await expect(b.fire()).rejects.toMatchObject({ code: 'K2_KAFKA_UNAVAILABLE' });
    expect(b.state).toBe('open');

    await nextState(b, 'half-open');
    healthy = true;
    await expect(b.fire()).resolves.toBe('ok');
    expect(b.state).toBe('closed');
  });

  it('fails with K2_SHUTTING_DOWN after shutdown', async () => {
    const b = make(async () => 1);
    b.shutdown();
    await expect(b.fire()).rejects.toMatchObject({ code: 'K2_SHUTTING_DOWN' });
  });
});
