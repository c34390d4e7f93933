import { pySqlCatalog } from '@k2/lake-testing';
import { runPython } from '@k2/testing';

/** What PyIceberg (the independent reader) finds in one table, measured against the ids that must be there. */
export interface TableCheck {
  rows: number;
  distinct: number;
  /** message_ids present more than once, anywhere in the table. */
  duplicates: number;
  duplicateSample: Array<[string, number]>;
  missing: number;
  missingSample: string[];
  /** Rows whose message_id is not in the expected set (other runs' crypto records read from the shared topics). */
  others: number;
  /** For `latencyIds`: [event time ms, commit time ms of the snapshot that added the row's data file]. */
  commits: Array<[number, number]>;
}

/*
 * The event→Iceberg time of a row is the commit time of the snapshot whose manifest entry added its data file
 * (Iceberg spec: a manifest entry's snapshot_id is the snapshot that added the file and is inherited by later
 * manifests; the writer only appends, and no compaction runs here). `inspect.entries()` lists the current
 * snapshot's entries with that id; each added file is read back with pyarrow through the table's own FileIO.
 */
const PY_CHECK = String.raw`
import json, sys, collections
import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import load_catalog
inp = json.load(sys.stdin)
cat = load_catalog(inp['name'], **inp['props'])
out = {}
for kind, spec in inp['tables'].items():
    t = cat.load_table(spec['table'])
    ids = [str(x) for x in t.scan(selected_fields=('message_id',)).to_arrow().column('message_id').to_pylist()]
    counts = collections.Counter(ids)
    expected = set(spec['expected'])
    dups = [[k, v] for k, v in counts.items() if v > 1]
    missing = [i for i in spec['expected'] if i not in counts]
    res = {'rows': len(ids), 'distinct': len(counts), 'duplicates': len(dups), 'duplicateSample': dups[:5],
           'missing': len(missing), 'missingSample': missing[:10],
           'others': sum(1 for k in counts if k not in expected), 'commits': []}
    want = set(spec.get('latencyIds', []))
    if want:
        committed_at = {s.snapshot_id: s.timestamp_ms for s in t.snapshots()}
        entries = t.inspect.entries().select(['status', 'snapshot_id', 'data_file']).to_pylist()
        for e in entries:
            if e['data_file']['content'] != 0:
                continue
            f = pq.read_table(t.io.new_input(e['data_file']['file_path']).open(), columns=['message_id', 'timestamp'])
            mids = [str(x) for x in f.column('message_id').to_pylist()]
            ts = f.column('timestamp').cast(pa.int64()).to_pylist()
            at = committed_at[e['snapshot_id']]
            for m, us in zip(mids, ts):
                if m in want:
                    res['commits'].append([us // 1000, at])
    out[kind] = res
print(json.dumps(out))
`;

export interface TableSpec {
  expected: string[];
  latencyIds?: string[];
}

export function checkTables(catalogUri: string, warehouse: string, namespace: string, tables: Record<string, TableSpec>): Record<string, TableCheck> {
  const catalog = pySqlCatalog(catalogUri, warehouse);
  const specs = Object.fromEntries(Object.entries(tables).map(([name, s]) => [name, { table: `${namespace}.${name}`, ...s }]));
  return runPython<Record<string, TableCheck>>(PY_CHECK, { name: catalog.name, props: catalog.props, tables: specs }, 900_000);
}
