import { messageId } from '@k2/schema';
import { RowIdFactory } from './ids';

describe('RowIdFactory', () => {
  it('gives exactly messageId(exchange, symbol, prefix + line, kind)', () => {
    const prefixes = ['7078:trades/7078.csv:', '3153:quotes/3153.csv:', '', 'x', 'a'.repeat(20), 'a'.repeat(21), 'b'.repeat(100), 'día/€/日本:'.repeat(7)];
    const lines = [0, 1, 9, 10, 99, 100, 12345, 91631, 2 ** 32 + 5, 987654321012];
    for (const kind of ['trade', 'quote', 'reference']) {
      for (const prefix of prefixes) {
        const f = new RowIdFactory(kind, 'asx', 'bhp', prefix);
        for (const line of lines) expect(f.id(line)).toBe(messageId('ASX', 'BHP', `${prefix}${line}`, kind));
      }
    }
  });

  it('matches the foundation sample id of BHP trades line 1', () => {
    expect(new RowIdFactory('trade', 'ASX', 'BHP', '7078:trades/7078.csv:').id(1)).toBe(messageId('ASX', 'BHP', '7078:trades/7078.csv:1'));
    expect(new RowIdFactory('trade', 'ASX', 'BHP', '7078:trades/7078.csv:').sourceId(1)).toBe('7078:trades/7078.csv:1');
  });

  it('is stable over many calls on one instance (no state leaks between rows)', () => {
    const f = new RowIdFactory('quote', 'ASX', 'DVN', '7181:quotes/7181.csv:');
    const first = Array.from({ length: 2000 }, (_, i) => f.id(i));
    expect(new Set(first).size).toBe(2000);
    expect(Array.from({ length: 2000 }, (_, i) => f.id(i))).toEqual(first);
  });
});
