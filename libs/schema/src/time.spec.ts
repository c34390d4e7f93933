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

  it('formats exactly on both paths (doubles below 2^53 µs, bigint above) and across second boundaries', () => {
    // Independent reference: milliseconds from Date, the last three digits from bigint arithmetic.
    const ref = (us: bigint) => `${new Date(Number(us / 1000n)).toISOString().slice(0, 23)}${String(us % 1000n).padStart(3, '0')}Z`;
    const cases = [0n, 999_999n, 1_000_000n, 1_795_000_000_999_999n, 1_795_000_001_000_000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 253_402_300_799_999_999n];
    let x = 1_795_000_000_000_000n;
    for (let i = 0; i < 5000; i++) cases.push((x += BigInt((i * 7919) % 700_001)));
    for (let i = 0; i < 200; i++) cases.push(BigInt(Math.floor(Math.random() * 2 ** 52)) * 41n);
    for (const us of cases) expect(isoFromMicros(us)).toBe(ref(us));
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
