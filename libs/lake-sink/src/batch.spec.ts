import { Batch, type BatchRecord } from './batch';

const rec = (tp: string, offset: number, owner: object, pkey = '20000|binance'): BatchRecord => ({
  line: `"id-${tp}-${offset}",1.5`,
  id: `id-${tp}-${offset}`,
  pkey,
  exchange: 'binance',
  schemaId: 1,
  tp,
  offset,
  eventUs: 1_700_000_000_000_000 + offset,
  owner,
});

describe('Batch (compact buffered rows of one table)', () => {
  it('drops the records and offsets of revoked incarnations and keeps the current ones', () => {
    const a = {};
    const b = {};
    const batch = new Batch();
    for (let i = 0; i < 5; i++) batch.add(rec('t/0', i, a));
    for (let i = 0; i < 3; i++) batch.add(rec('t/1', i, b, '20001|binance'));
    expect(batch.rows).toBe(8);
    const before = batch.bytes;
    expect(batch.dropStale((tp, owner) => !(tp === 't/0' && owner === a))).toBe(5);
    expect(batch.rows).toBe(3);
    expect(batch.bytes).toBeLessThan(before);
    expect([...batch.consumed]).toEqual([['t/1', 3]]);
    expect([...batch.groups.values()].map((g) => g.offsets)).toEqual([[0, 1, 2]]);
  });

  it('puts a failed batch back in front of what arrived meanwhile, offsets in order', () => {
    const a = {};
    const failed = new Batch();
    for (let i = 0; i < 3; i++) failed.add(rec('t/0', i, a));
    const later = new Batch();
    for (let i = 3; i < 5; i++) later.add(rec('t/0', i, a));
    const merged = failed.absorb(later);
    expect(merged.rows).toBe(5);
    expect([...merged.groups.values()][0].offsets).toEqual([0, 1, 2, 3, 4]);
    expect(merged.consumed.get('t/0')).toBe(5);
  });

  it('counts a dead-lettered record as consumed work without a row', () => {
    const batch = new Batch();
    batch.note('t/0', 7, {});
    expect(batch.hasWork()).toBe(true);
    expect(batch.rows).toBe(0);
  });
});
