import { ancestors, currentSnapshot, readManifest, readManifestList, type DataFile, type FileIO, type Snapshot, type TableMetadata } from '@k2/iceberg';

/**
 * bars_1m_v2 is a fold over trades_v2's `append` snapshots (ADR 0024). Each bars snapshot records the trades
 * snapshot it has folded up to; the next fold takes the files added by the appends after it. `replace` snapshots
 * (compaction) only rewrite rows already counted and are skipped; anything that removes trades (`overwrite`,
 * `delete`), or a recorded snapshot that is no longer in the trades history (expired, or none recorded yet), makes
 * the fold start over from the trades table's current files (a rebuild).
 */
export type FoldPlan =
  | { kind: 'up-to-date' }
  | { kind: 'fold'; target: Snapshot; appends: Snapshot[]; skipped: number }
  | { kind: 'rebuild'; target: Snapshot; reason: string };

export function planFold(trades: TableMetadata, folded: string | undefined): FoldPlan {
  const target = currentSnapshot(trades);
  if (!target) return { kind: 'up-to-date' };
  if (String(target['snapshot-id']) === folded) return { kind: 'up-to-date' };
  if (folded === undefined) return { kind: 'rebuild', target, reason: 'no trades snapshot folded yet' };
  const appends: Snapshot[] = [];
  let skipped = 0;
  for (const s of ancestors(trades)) {
    if (String(s['snapshot-id']) === folded) return { kind: 'fold', target, appends: appends.reverse(), skipped };
    const op = s.summary.operation;
    if (op === 'append') appends.push(s);
    else if (op === 'replace') skipped++;
    else return { kind: 'rebuild', target, reason: `trades snapshot ${s['snapshot-id']} may have removed rows (operation ${op})` };
  }
  return { kind: 'rebuild', target, reason: `folded trades snapshot ${folded} is no longer in the table's history` };
}

/** Data files `snapshot` added, from its own manifest list (later compaction may have replaced them since). */
export async function filesAddedBy(io: FileIO, snapshot: Snapshot): Promise<DataFile[]> {
  const id = String(snapshot['snapshot-id']);
  const out: DataFile[] = [];
  for (const m of readManifestList(await io.read(snapshot['manifest-list']), snapshot['manifest-list'])) {
    if (m.content !== 0 || String(m['added-snapshot-id']) !== id) continue;
    for (const e of readManifest(await io.read(m['manifest-path']), m)) if (e.status === 1) out.push(e['data-file']);
  }
  return out;
}
