import { parseDecimal, parseDecimalExact, type DecimalKind } from './decimal';

/** parseDecimal's fast path must give exactly what the big.js path gives: the same value or the same error. */
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

describe('parseDecimal fast path', () => {
  const kinds: DecimalKind[] = ['price', 'quantity', 'size', 'signed'];
  it.each(EDGES)('%j agrees with parseDecimalExact for every kind', (raw) => {
    for (const kind of kinds) expect(outcome(() => parseDecimal('f', raw, kind))).toBe(outcome(() => parseDecimalExact('f', raw, kind)));
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
      expect(outcome(() => parseDecimal('f', raw, kind))).toBe(outcome(() => parseDecimalExact('f', raw, kind)));
    }
  });

  it('passes non-strings to the exact path for its error', () => {
    expect(outcome(() => parseDecimal('p', 1.5, 'price'))).toBe(outcome(() => parseDecimalExact('p', 1.5, 'price')));
  });
});
