import { Backoff } from './backoff';

describe('Backoff', () => {
  it('starts at 5 s, doubles and caps at 60 s by default', () => {
    const b = new Backoff({ random: () => 0 });
    expect(Array.from({ length: 7 }, () => b.next())).toEqual([5000, 10000, 20000, 40000, 60000, 60000, 60000]);
    expect(b.attempts).toBe(7);
    b.reset();
    expect(b.next()).toBe(5000);
  });

  it('jitters downwards within the configured fraction', () => {
    const lo = new Backoff({ initialMs: 1000, jitter: 0.3, random: () => 1 });
    expect(lo.next()).toBe(700);
    const values = new Set(Array.from({ length: 50 }, () => new Backoff({ initialMs: 1000 }).next()));
    for (const v of values) expect(v).toBeGreaterThanOrEqual(700);
    for (const v of values) expect(v).toBeLessThanOrEqual(1000);
    expect(values.size).toBeGreaterThan(1);
  });

  it('rejects impossible settings', () => {
    expect(() => new Backoff({ initialMs: 10, maxMs: 5 })).toThrow(/invalid backoff/);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(/invalid backoff/);
  });
});
