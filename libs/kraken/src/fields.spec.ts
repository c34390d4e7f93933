import { microsFromIso } from '@k2/schema';
import { isoMicrosFast } from './fields';

describe('isoMicrosFast (fast path of microsFromIso)', () => {
  it.each([
    '2023-09-25T07:49:37.708706Z',
    '2023-09-25T07:49:37.708706000Z',
    '2023-09-25T07:49:37.7Z',
    '2023-09-25T07:49:37Z',
    '2024-02-29T23:59:59.999999Z',
    '1970-01-01T00:00:00.000001Z',
    '2200-12-31T23:59:59.999999Z',
    '2026-10-06T18:14:44.947782Z',
  ])('%s gives exactly microsFromIso', (text) => {
    expect(isoMicrosFast(text)).toBe(microsFromIso(text));
  });

  it.each([
    '2023-09-25T07:49:37.708706123Z', // sub-µs digits: microsFromIso rejects
    '2023-09-25T07:49:37.708706+00:00',
    '2023-09-25 07:49:37.708706Z',
    '2023-02-29T00:00:00Z',
    '2023-13-01T00:00:00Z',
    '2023-09-25T24:00:00Z',
    '2023-09-25T07:49:60Z',
    '1969-12-31T23:59:59Z',
    '2023-09-25T07:49:37.Z',
    '2023-09-25T07:49:37.1234567890Z',
    '2023-9-25T07:49:37Z',
    'yesterday',
  ])('%s is left to microsFromIso', (text) => {
    expect(isoMicrosFast(text)).toBeUndefined();
  });

  it('agrees with microsFromIso on generated timestamps', () => {
    let seed = 11;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const p2 = (x: number) => String(x).padStart(2, '0');
    for (let k = 0; k < 5000; k++) {
      const frac = rnd(3) === 0 ? '' : `.${String(rnd(1_000_000)).padStart(6, '0').slice(0, 1 + rnd(6))}`;
      const text = `${1970 + rnd(231)}-${p2(1 + rnd(12))}-${p2(1 + rnd(28))}T${p2(rnd(24))}:${p2(rnd(60))}:${p2(rnd(60))}${frac}Z`;
      expect(isoMicrosFast(text)).toBe(microsFromIso(text));
    }
  });
});
