import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDecimal, parseDecimalExact, type DecimalKind } from '@k2/decimal';
import { rowDecimal } from './decimal';

const SAMPLE = path.resolve(__dirname, '../../../data/asx-sample');

function outcome(f: () => string): string {
  try {
    return f();
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

describe('parseDecimal on ASX values (fast path vs big.js path)', () => {
  it('the fast path equals the exact path on every price, volume and size in the bundled sample', () => {
    const values = new Set<string>();
    for (const file of ['trades/7078.csv', 'trades/7181.csv', 'trades/3153.csv', 'quotes/7078.csv', 'quotes/7181.csv']) {
      for (const line of readFileSync(path.join(SAMPLE, file), 'utf8').split(/\r?\n/)) {
        const f = line.split(',');
        for (const v of f.slice(2, file.startsWith('trades') ? 4 : 6)) values.add(v);
        if (file.startsWith('trades') && f[6]) values.add(f[6]);
      }
    }
    expect(values.size).toBeGreaterThan(500);
    for (const v of values) {
      for (const kind of ['price', 'size'] as DecimalKind[]) expect(parseDecimal('x', v, kind)).toBe(parseDecimalExact('x', v, kind));
    }
  });

  it('the fast path equals the exact path (value or error message) on edge cases and random text', () => {
    const cases = ['0', '0.0', '00', '007', '0.5', '.5', '5.', '1.00000000', '1.000000000', '1.123456789', '9999999999', '10000000000',
      '9999999999.99999999', '-1', '+1', '1e3', '1E-2', '', ' 1', '1 ', '1,5', 'NaN', '0x10', '1.2.3', '36.667', '0.00000001'];
    const rnd = (n: number) => Math.floor(Math.random() * n);
    const alphabet = '0123456789.-+e ';
    for (let i = 0; i < 3000; i++) cases.push(Array.from({ length: 1 + rnd(14) }, () => alphabet[rnd(alphabet.length)]).join(''));
    for (const c of cases) {
      for (const kind of ['price', 'quantity', 'size', 'signed'] as DecimalKind[]) {
        expect([c, kind, outcome(() => parseDecimal('volume', c, kind))]).toEqual([c, kind, outcome(() => parseDecimalExact('volume', c, kind))]);
      }
    }
  });

  it('reports bad values as row rejections with the reason and field', () => {
    expect(() => rowDecimal('price', '-36.5', 'price', 'BAD_PRICE')).toThrow(
      expect.objectContaining({ reason: 'BAD_PRICE', field: 'price', message: 'price: "-36.5" must not be negative' }),
    );
    expect(() => rowDecimal('price', '36.123456789', 'price', 'BAD_PRICE')).toThrow(
      expect.objectContaining({ reason: 'BAD_PRICE', message: 'price: "36.123456789" has more than 8 significant fraction digits; refusing to round' }),
    );
    expect(() => rowDecimal('volume', '12x', 'quantity', 'BAD_VOLUME')).toThrow(
      expect.objectContaining({ reason: 'BAD_VOLUME', field: 'volume', message: 'volume: "12x" is not a decimal number' }),
    );
    expect(() => rowDecimal('volume', '0', 'quantity', 'BAD_VOLUME')).toThrow(expect.objectContaining({ reason: 'BAD_VOLUME', message: 'volume: "0" must be greater than zero' }));
  });
});
