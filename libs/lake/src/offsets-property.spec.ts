import type { Snapshot, TableMetadata } from '@k2/iceberg';
import { lineageOffsets, offsetsKey, serializeOffsets, tableOffsets } from './offsets';

/**
 * Issue 19: the writer's offsets also live in a table property, read when no retained ancestor carries them —
 * after another engine's `replace` snapshot has become the only one left (Spark: rewrite_data_files, then
 * expire_snapshots with retain_last => 1).
 */
const g = 'k2-iceberg-writer';
const tp = 'market.crypto.trades.binance/0';

function meta(snapshots: Snapshot[], current: number | null, properties?: Record<string, string>): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': '00000000-0000-0000-0000-000000000000',
    location: 'file:///tmp/t',
    'last-sequence-number': snapshots.length,
    'last-updated-ms': 0,
    'last-column-id': 1,
    'current-schema-id': 0,
    schemas: [{ type: 'struct', 'schema-id': 0, fields: [] }],
    'default-spec-id': 0,
    'partition-specs': [{ 'spec-id': 0, fields: [] }],
    'last-partition-id': 999,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    ...(properties ? { properties } : {}),
    'current-snapshot-id': current,
    snapshots,
  } as TableMetadata;
}

const snap = (id: number, parent: number | undefined, summary: Record<string, string>): Snapshot =>
  ({ 'snapshot-id': id, ...(parent !== undefined ? { 'parent-snapshot-id': parent } : {}), 'sequence-number': id, 'timestamp-ms': id, 'manifest-list': `m${id}`, summary: { operation: 'append', ...summary } }) as Snapshot;

describe('tableOffsets with the offsets property', () => {
  const prop = { [offsetsKey(g)]: serializeOffsets(new Map([[tp, 42]])) };

  it("reads the property when the only retained snapshot is another engine's replace", () => {
    const m = meta([snap(9, 8, { operation: 'replace', 'spark.app.id': 'local-1' })], 9, prop);
    expect(tableOffsets(m, g)).toEqual(new Map([[tp, 42]]));
  });

  it('prefers the newest writer summary in the lineage over the property', () => {
    const m = meta([snap(1, undefined, { [offsetsKey(g)]: serializeOffsets(new Map([[tp, 7]])) }), snap(2, 1, { operation: 'replace' })], 2, prop);
    expect(tableOffsets(m, g)).toEqual(new Map([[tp, 7]]));
  });

  it('leaves the property out of a lineage-only read (what a historical snapshot knew)', () => {
    const m = meta([snap(9, 8, { operation: 'replace' })], 9, prop);
    expect(lineageOffsets(m, g)).toBeUndefined();
  });

  it('is empty without either, and for another group', () => {
    expect(tableOffsets(meta([snap(9, undefined, {})], 9), g)).toEqual(new Map());
    expect(tableOffsets(meta([snap(9, undefined, {})], 9, prop), 'other-group')).toEqual(new Map());
  });
});
