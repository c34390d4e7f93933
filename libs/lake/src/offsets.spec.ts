import { applyUpdates, newTableMetadata, type Snapshot } from '@k2/iceberg';
import { mergeOffsets, offsetsKey, parseOffsets, serializeOffsets, tableOffsets, tpKey } from './offsets';

const schema = { type: 'struct' as const, 'schema-id': 0, fields: [{ id: 1, name: 'message_id', required: true, type: 'string' as const }] };

function withSnapshots(summaries: Array<Record<string, string>>) {
  let m = newTableMetadata({ location: 'file:///wh/t', schema, spec: { 'spec-id': 0, fields: [] }, sortOrder: { 'order-id': 0, fields: [] } });
  summaries.forEach((s, i) => {
    const snapshot: Snapshot = {
      'snapshot-id': i + 1,
      ...(i ? { 'parent-snapshot-id': i } : {}),
      'sequence-number': i + 1,
      'timestamp-ms': 1,
      // Only the summaries matter to offset recovery; nothing reads this manifest list.
      'manifest-list': 'not-read-by-this-test',
      summary: { operation: 'append', ...s },
    };
    m = applyUpdates(m, [{ action: 'add-snapshot', snapshot }, { action: 'set-snapshot-ref', 'ref-name': 'main', type: 'branch', 'snapshot-id': i + 1 }]);
  });
  return m;
}

describe('offsets in snapshot summaries', () => {
  const g = 'k2-iceberg-writer';
  const t0 = tpKey('market.crypto.trades.binance', 0);
  const t1 = tpKey('market.crypto.trades.binance', 1);

  it('merges by max so a late commit of a former owner never moves a partition back', () => {
    const merged = mergeOffsets(new Map([[t0, 100], [t1, 50]]), new Map([[t0, 80], [t1, 70]]));
    expect(merged).toEqual(new Map([[t0, 100], [t1, 70]]));
  });

  it('serializes sorted and parses back', () => {
    const text = serializeOffsets(new Map([[t1, 7], [t0, 9]]));
    expect(text).toBe(`{"${t0}":9,"${t1}":7}`);
    expect(parseOffsets({ operation: 'append', [offsetsKey(g)]: text }, g)).toEqual(new Map([[t0, 9], [t1, 7]]));
    expect(parseOffsets({ operation: 'append' }, g)).toBeUndefined();
  });

  it('recovers from the newest snapshot that has the group, skipping maintenance snapshots without it', () => {
    const m = withSnapshots([
      { [offsetsKey(g)]: serializeOffsets(new Map([[t0, 10]])) },
      { [offsetsKey(g)]: serializeOffsets(new Map([[t0, 20], [t1, 5]])), [offsetsKey('other')]: '{"x/0":1}' },
      { 'k2.maintenance': 'compaction' },
    ]);
    expect(tableOffsets(m, g)).toEqual(new Map([[t0, 20], [t1, 5]]));
    expect(tableOffsets(m, 'never-committed')).toEqual(new Map());
  });
});
