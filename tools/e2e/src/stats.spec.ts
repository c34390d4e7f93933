import { e2eProfile } from './profile';
import { percentile, summarize } from './stats';

describe('percentile / summarize', () => {
  it('uses the nearest rank', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(xs, 50)).toBe(50);
    expect(percentile(xs, 99)).toBe(99);
    expect(percentile(xs, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('sorts before ranking and reports the maximum', () => {
    expect(summarize([30, 10, 20, 1000])).toEqual({ n: 4, p50: 20, p99: 1000, max: 1000 });
  });
});

describe('e2eProfile', () => {
  it('defaults to the short profile and lets K2_E2E_* override a field', () => {
    expect(e2eProfile({}).name).toBe('short');
    const p = e2eProfile({ K2_E2E_PROFILE: 'long', K2_E2E_RATE: '10', K2_E2E_S3_DOWN_MS: '31000' });
    expect(p).toMatchObject({ name: 'long', rate: 10, s3DownMs: 31000, killRounds: 3 });
    expect(Object.isFrozen(p)).toBe(true);
  });

  it('refuses an unknown profile or a bad number', () => {
    expect(() => e2eProfile({ K2_E2E_PROFILE: 'medium' })).toThrow(/short, long/);
    expect(() => e2eProfile({ K2_E2E_RATE: 'fast' })).toThrow(/K2_E2E_RATE=fast/);
  });
});
