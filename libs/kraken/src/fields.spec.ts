import { parseDecimal, type DecimalKind } from '@k2/decimal';
import { microsFromIso } from '@k2/schema';
import { decimal, isoMicrosFast } from './fields';

/** The fast path must give exactly what parseDecimal gives: the same value or the same error. */
function outcome(f: () => string): string {
  try {
    return `ok ${f()}`;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

const EDGES = [
  '0', '00', '0.0', '0.00000000', '0.000000000', '0.00000001', '0.000000010', '0.000000011', '1', '01', '001.5', '1.',
  '.5', '1.5', '100', '0.001', '97000.12000000', '97000.120000000', '97000.120000001', '9999999999.99999999',
  '10000000000', '09999999999.5', '12345678901', '-1', '-0', '+1', '1e3', '1E-8', ' 1', '1 ', '1,5', 'NaN', '',
  'Infinity', '0x10', '1..2', '٣', '40.0', '0.5117', '6423.46326', '1136.19677815', '0.00012345', '65000.12345678',
];

describe('decimal (fast path of parseDecimal)', () => {
  const kinds: DecimalKind[] = ['price', 'quantity', 'size', 'signed'];
  it.each(EDGES)('%j agrees with parseDecimal for every kind', (raw) => {
    for (const kind of kinds) expect(outcome(() => decimal('f', raw, kind))).toBe(outcome(() => parseDecimal('f', raw, kind)));
  });

  it('agrees on generated plain decimals', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const digits = (len: number) => Array.from({ length: len }, () => String(rnd(10))).join('');
    for (let k = 0; k < 20_000; k++) {
      const int = digits(rnd(13));
      const frac = rnd(3) === 0 ? '' : `.${digits(1 + rnd(11))}${rnd(4) === 0 ? '000' : ''}`;
      const raw = (int === '' && frac === '' ? '0' : int) + frac;
      const kind = kinds[rnd(4)]!;
      expect(outcome(() => decimal('f', raw, kind))).toBe(outcome(() => parseDecimal('f', raw, kind)));
    }
  });

  it('passes non-strings to parseDecimal for its error', () => {
    expect(outcome(() => decimal('p', 1.5, 'price'))).toBe(outcome(() => parseDecimal('p', 1.5, 'price')));
  });
});

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
