import { isoFromMicros, microsFromIso, nowMicros } from './time';

describe('time helpers', () => {
  it('parses Kraken v2 RFC 3339 µs timestamps exactly', () => {
    // from docs.kraken.com WebSocket v2 "trade" example
    expect(microsFromIso('2023-09-25T07:49:37.708706Z')).toBe(1695628177708706n);
    expect(microsFromIso('2023-09-25T07:49:37Z')).toBe(1695628177000000n);
    expect(microsFromIso('2023-09-25T17:49:37.708706+10:00')).toBe(1695628177708706n);
  });

  it('rejects text that is not RFC 3339 or that has sub-µs digits', () => {
    expect(() => microsFromIso('2023-09-25 07:49')).toThrow('not an RFC 3339');
    expect(() => microsFromIso('2023-09-25T07:49:37.708706123Z')).toThrow('sub-microsecond');
    expect(microsFromIso('2023-09-25T07:49:37.708706000Z')).toBe(1695628177708706n);
  });

  it('formats µs as ISO-8601 with six fraction digits, also before 1970', () => {
    expect(isoFromMicros(1695628177708706n)).toBe('2023-09-25T07:49:37.708706Z');
    expect(isoFromMicros(-1n)).toBe('1969-12-31T23:59:59.999999Z');
    expect(microsFromIso(isoFromMicros(-1n))).toBe(-1n);
  });

  it('nowMicros never repeats or goes backwards', () => {
    let prev = nowMicros();
    for (let i = 0; i < 10000; i++) {
      const t = nowMicros();
      expect(t > prev).toBe(true);
      prev = t;
    }
    expect(Number(prev / 1000n)).toBeGreaterThan(Date.now() - 5000);
  });
});
