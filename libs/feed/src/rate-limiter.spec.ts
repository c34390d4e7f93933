import { SendRateLimiter } from './rate-limiter';

describe('SendRateLimiter', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('never lets more than 5 messages out within any second, in order', () => {
    const sent: Array<[number, number]> = [];
    const limiter = new SendRateLimiter(5, 1000, () => Date.now());
    for (let i = 0; i < 12; i++) limiter.submit(() => sent.push([i, Date.now()]));
    expect(sent.map(([i]) => i)).toEqual([0, 1, 2, 3, 4]);
    jest.advanceTimersByTime(1001);
    expect(sent.map(([i]) => i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    jest.advanceTimersByTime(1001);
    expect(sent.map(([i]) => i)).toEqual([...Array(12).keys()]);
    for (let k = 5; k < sent.length; k++) expect((sent[k] as [number, number])[1] - (sent[k - 5] as [number, number])[1]).toBeGreaterThanOrEqual(1000);
    expect(limiter.pending).toBe(0);
  });
});
