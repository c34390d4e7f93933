import type { Snapshot, SnapshotOperation, TableMetadata } from '@k2/iceberg';
import { BARS_FOLDED_KEY, foldedUpTo } from '@k2/lake';
import { planFold } from './fold';

/** Table metadata with a linear history of the given operations (ids 1, 2, …), optionally expired below `from`. */
function history(ops: Array<SnapshotOperation | [SnapshotOperation, Record<string, string>]>, from = 1): TableMetadata {
  const snapshots: Snapshot[] = ops.map((o, i) => {
    const [operation, extra] = Array.isArray(o) ? o : [o, {}];
    return {
      'snapshot-id': i + 1,
      ...(i > 0 ? { 'parent-snapshot-id': i } : {}),
      'sequence-number': i + 1,
      'timestamp-ms': 1000 + i,
      'manifest-list': `s${i + 1}.avro`,
      summary: { operation, ...extra },
    };
  });
  const kept = snapshots.filter((s) => Number(s['snapshot-id']) >= from);
  return { 'current-snapshot-id': ops.length ? ops.length : -1, snapshots: kept, refs: ops.length ? { main: { 'snapshot-id': ops.length, type: 'branch' } } : {} } as unknown as TableMetadata;
}

const ids = (p: ReturnType<typeof planFold>) => (p.kind === 'fold' ? p.appends.map((s) => s['snapshot-id']) : p.kind);

describe('bars fold plan over trades_v2 snapshots', () => {
  it('folds the appends after the recorded snapshot, oldest first, skipping compaction (replace)', () => {
    const trades = history(['append', 'append', 'replace', 'append', 'append']);
    const plan = planFold(trades, '2');
    expect(ids(plan)).toEqual([4, 5]);
    expect(plan).toMatchObject({ kind: 'fold', skipped: 1, target: { 'snapshot-id': 5 } });
  });

  it('is up to date at the current snapshot, or with no trades snapshot at all', () => {
    expect(planFold(history(['append', 'append']), '2')).toEqual({ kind: 'up-to-date' });
    expect(planFold(history([]), undefined)).toEqual({ kind: 'up-to-date' });
  });

  it('rebuilds when nothing was folded yet, the recorded snapshot expired, or trades were removed', () => {
    expect(planFold(history(['append']), undefined)).toMatchObject({ kind: 'rebuild', reason: expect.stringMatching(/no trades snapshot folded/) });
    expect(planFold(history(['append', 'append', 'append'], 3), '1')).toMatchObject({ kind: 'rebuild', reason: expect.stringMatching(/no longer in the table's history/) });
    expect(planFold(history(['append', 'delete', 'append']), '1')).toMatchObject({ kind: 'rebuild', reason: expect.stringMatching(/operation delete/) });
  });

  it("reads the folded position from the newest bars snapshot recording one (a compaction's summary may not)", () => {
    expect(foldedUpTo(history([['append', { [BARS_FOLDED_KEY]: '7' }], ['overwrite', { [BARS_FOLDED_KEY]: '9' }], 'replace']))).toBe('9');
    expect(foldedUpTo(history(['append']))).toBeUndefined();
  });
});
