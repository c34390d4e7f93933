import { ErrorCode, TransientError, ValidationError } from '@k2/core';
import { DEFAULT_RETRY_POLICY, retry, sleep, untilAborted, type RetryInfo } from './retry';

const transient = (n: number) => new TransientError(ErrorCode.KAFKA_UNAVAILABLE, `down ${n}`);

/** A recorded sleep: no real waiting, the delays are what the policy chose. */
function recorder() {
  const delays: number[] = [];
  return { delays, sleep: async (ms: number) => void delays.push(ms) };
}

describe('retry', () => {
  it('returns the first success and retries retriable failures with exponential, capped delays', async () => {
    const r = recorder();
    let calls = 0;
    const v = await retry(
      async ({ attempt }) => {
        calls++;
        if (attempt < 5) throw transient(attempt);
        return 'ok';
      },
      { initialMs: 100, maxMs: 500, jitter: 0, sleep: r.sleep },
    );
    expect(v).toBe('ok');
    expect(calls).toBe(5);
    expect(r.delays).toEqual([100, 200, 400, 500]);
  });

  it('keeps every jittered delay within [nominal·(1−jitter), nominal]', async () => {
    for (const random of [() => 0, () => 0.999999, Math.random]) {
      const r = recorder();
      await expect(retry(async ({ attempt }) => Promise.reject(transient(attempt)), { maxAttempts: 8, initialMs: 1000, maxMs: 16_000, jitter: 0.3, random, sleep: r.sleep })).rejects.toThrow('down 8');
      const nominal = [1000, 2000, 4000, 8000, 16_000, 16_000, 16_000];
      expect(r.delays).toHaveLength(nominal.length);
      r.delays.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual(Math.floor((nominal[i] as number) * 0.7));
        expect(d).toBeLessThanOrEqual(nominal[i] as number);
      });
    }
  });

  it('gives up after maxAttempts with the last error', async () => {
    const r = recorder();
    await expect(retry(async ({ attempt }) => Promise.reject(transient(attempt)), { maxAttempts: 3, sleep: r.sleep })).rejects.toThrow('down 3');
    expect(r.delays).toHaveLength(2);
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(6);
  });

  it('bails at once on a non-retriable error, and on bail()', async () => {
    const r = recorder();
    let calls = 0;
    const bad = new ValidationError('bad input');
    await expect(retry(async () => (calls++, Promise.reject(bad)), { sleep: r.sleep })).rejects.toBe(bad);
    expect(calls).toBe(1);
    const plain = new Error('not a K2Error: not retriable by default');
    await expect(retry(async () => Promise.reject(plain), { sleep: r.sleep })).rejects.toBe(plain);
    await expect(retry(async ({ bail }) => bail(transient(0)), { sleep: r.sleep })).rejects.toThrow('down 0');
    expect(r.delays).toEqual([]);
  });

  it('lets the policy decide what is retriable and dictate a delay', async () => {
    const r = recorder();
    const seen: RetryInfo[] = [];
    await retry(
      async ({ attempt }) => {
        if (attempt === 1) throw new Error('special');
        if (attempt === 2) throw new Error('plain');
        return 1;
      },
      { retriable: () => true, initialMs: 500, factor: 1, maxMs: 500, jitter: 0, delayFor: (e) => ((e as Error).message === 'special' ? 250 : undefined), onRetry: (i) => seen.push(i), sleep: r.sleep },
    );
    expect(r.delays).toEqual([250, 500]);
    expect(seen.map((s) => [s.attempt, s.delayMs])).toEqual([[1, 250], [2, 500]]);
  });

  it('does not start a retry whose delay would pass the deadline', async () => {
    let clock = 0;
    const r = { delays: [] as number[], sleep: async (ms: number) => void (r.delays.push(ms), (clock += ms)) };
    await expect(
      retry(async ({ attempt }) => Promise.reject(transient(attempt)), { maxAttempts: Infinity, deadlineMs: 1000, initialMs: 100, jitter: 0, now: () => clock, sleep: r.sleep }),
    ).rejects.toThrow('down 4');
    expect(r.delays).toEqual([100, 200, 400]); // 700 ms spent; the next 800 ms would end at 1500
  });

  it('an unbounded policy retries even past the default attempts, until the signal aborts', async () => {
    const ac = new AbortController();
    let calls = 0;
    const done = retry(async () => {
      calls++;
      if (calls === 20) ac.abort(); // stop() during the 20th attempt
      throw new Error(`plain ${calls}`);
    }, untilAborted(ac.signal, { initialMs: 1, factor: 1, maxMs: 1, jitter: 0, retriable: () => true }));
    await expect(done).rejects.toThrow('plain 20');
    expect(calls).toBe(20);
  });

  it('a long delay ends at once on abort; an aborted signal makes no attempt', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const done = retry(async () => Promise.reject(transient(1)), untilAborted(ac.signal, { initialMs: 60_000, maxMs: 60_000 }));
    setTimeout(() => ac.abort(new Error('stopped')), 20);
    await expect(done).rejects.toThrow('down 1');
    expect(Date.now() - started).toBeLessThan(1000);
    let calls = 0;
    await expect(retry(async () => ++calls, { signal: ac.signal })).rejects.toThrow('stopped');
    expect(calls).toBe(0);
  });

  it('works with fake timers', async () => {
    jest.useFakeTimers();
    try {
      let calls = 0;
      const done = retry(async () => (++calls < 3 ? Promise.reject(transient(calls)) : 'ok'), { initialMs: 1000, jitter: 0 });
      await jest.advanceTimersByTimeAsync(999);
      expect(calls).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      expect(calls).toBe(2);
      await jest.advanceTimersByTimeAsync(2000);
      await expect(done).resolves.toBe('ok');
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects a policy without attempts', async () => {
    await expect(retry(async () => 1, { maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
  });
});

describe('sleep', () => {
  it('resolves early on abort and at once when already aborted', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const s = sleep(60_000, ac.signal);
    ac.abort();
    await s;
    await sleep(60_000, ac.signal);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
