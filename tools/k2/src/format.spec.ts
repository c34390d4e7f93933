import { LosslessNumber, parseLosslessJson, type LosslessObject } from '@k2/core';
import { cellText, csvLine, formatTable, rowWriter } from './format';

const rows = parseLosslessJson(
  JSON.stringify([
    { timestamp: '2026-12-01T10:00:00.000001Z', symbol: 'BTCUSDT', price: '65000.12345678', quantity: '0.00100000', trade_id: '9', vendor_data: { a: 1 } },
    { timestamp: '2026-12-01T10:00:00.000000Z', symbol: 'BTC/USD', price: '9.50000000', quantity: '12.00000000', trade_id: '1152921504606846976', vendor_data: null },
  ]),
) as LosslessObject[];

describe('formatTable', () => {
  it('aligns columns, right-aligns numeric ones and keeps the decimals exactly as sent', () => {
    expect(formatTable(rows, ['timestamp', 'symbol', 'price', 'quantity', 'trade_id'])).toBe(
      [
        'timestamp                    symbol            price     quantity             trade_id',
        '2026-12-01T10:00:00.000001Z  BTCUSDT  65000.12345678   0.00100000                    9',
        '2026-12-01T10:00:00.000000Z  BTC/USD      9.50000000  12.00000000  1152921504606846976',
        '',
      ].join('\n'),
    );
  });

  it('says so when there are no rows, and keeps control characters from breaking lines', () => {
    expect(formatTable([], ['a'])).toBe('(no rows)\n');
    expect(formatTable([{ a: 'x\ny', b: 'z' }], ['a', 'b'])).toBe('a    b\nx y  z\n');
  });
});

describe('cells and csv', () => {
  it('prints numbers with their source text, objects as compact JSON, null as empty', () => {
    const big = parseLosslessJson('{"n": 14858525998463770613, "f": 0.10000000}') as LosslessObject;
    expect(cellText(big['n'])).toBe('14858525998463770613');
    expect(cellText(big['f'])).toBe('0.10000000');
    expect(cellText(new LosslessNumber('1e3'))).toBe('1e3');
    expect(cellText({ a: [1, 'x'] } as unknown as LosslessObject)).toBe('{"a":[1,"x"]}');
    expect(cellText(null)).toBe('');
    expect(cellText(true)).toBe('true');
  });

  it('quotes csv fields with commas, quotes, line breaks or edge spaces (RFC 4180)', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'l1\nl2', ' pad', ''])).toBe('a,"b,c","say ""hi""","l1\nl2"," pad",\n');
  });
});

describe('rowWriter', () => {
  it('csv: one header, then the rows of every page in the columns of the first', () => {
    const w = rowWriter('csv');
    const text = w.page(rows.slice(0, 1)) + w.page(rows.slice(1)) + w.end();
    expect(text.split('\n')).toEqual([
      'timestamp,symbol,price,quantity,trade_id,vendor_data',
      '2026-12-01T10:00:00.000001Z,BTCUSDT,65000.12345678,0.00100000,9,"{""a"":1}"',
      '2026-12-01T10:00:00.000000Z,BTC/USD,9.50000000,12.00000000,1152921504606846976,',
      '',
    ]);
  });

  it('csv with columns and no rows still prints the header', () => {
    const w = rowWriter('csv', { columns: ['a', 'b'] });
    expect(w.page([]) + w.end()).toBe('a,b\n');
  });

  it('ndjson: one object per line with the selected columns; numbers stay exact', () => {
    const big = parseLosslessJson('{"id": 14858525998463770613, "p": "1.10000000", "x": 1}') as LosslessObject;
    const w = rowWriter('ndjson', { columns: ['id', 'p', 'missing'] });
    expect(w.page([big, big]) + w.end()).toBe('{"id":14858525998463770613,"p":"1.10000000","missing":null}\n'.repeat(2));
  });

  it('json: one array over every page, or the object itself for single answers', () => {
    const w = rowWriter('json', { columns: ['symbol'] });
    const text = w.page(rows.slice(0, 1)) + w.page(rows.slice(1)) + w.end();
    expect(JSON.parse(text)).toEqual([{ symbol: 'BTCUSDT' }, { symbol: 'BTC/USD' }]);
    const empty = rowWriter('json');
    expect(empty.page([]) + empty.end()).toBe('[]\n');
    const one = rowWriter('json', { single: true });
    expect(JSON.parse(one.page([rows[0]!]) + one.end())).toMatchObject({ symbol: 'BTCUSDT', price: '65000.12345678' });
  });

  it('table: waits for every page', () => {
    const w = rowWriter('table', { columns: ['symbol'] });
    expect(w.page(rows)).toBe('');
    expect(w.end()).toBe('symbol\nBTCUSDT\nBTC/USD\n');
  });
});
