"""PyIceberg side of catalog.itest.ts, run through runPython (@k2/testing): JSON request on stdin, JSON answer on stdout.

Request: {"catalog": {"name": ..., "props": {...}}, "op": "list" | "load" | "create" | "append" | "set_properties", ...}.
Snapshot ids are returned as strings: the caller parses the answer with JSON.parse, which would round 63-bit ids.
"""

import json
import sys

import pyarrow as pa
from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError


def describe(t, count=False):
    snap = t.current_snapshot()
    return {
        "identifier": list(t.name()),
        "metadata_location": t.metadata_location,
        "location": t.location(),
        "table_uuid": str(t.metadata.table_uuid),
        "schema": json.loads(t.schema().model_dump_json()),
        "schema_id": t.schema().schema_id,
        "spec": json.loads(t.spec().model_dump_json()),
        "properties": dict(t.properties),
        "current_snapshot_id": str(snap.snapshot_id) if snap else None,
        "snapshot_ids": [str(s.snapshot_id) for s in t.snapshots()],
        "rows": t.scan().to_arrow().num_rows if count else None,
    }


def main():
    req = json.load(sys.stdin)
    cat = load_catalog(req["catalog"]["name"], **req["catalog"]["props"])
    op = req["op"]
    if op == "list":
        out = sorted(".".join(i) for i in cat.list_tables(req["namespace"]))
    elif op == "load":
        out = describe(cat.load_table(req["table"]), req.get("count", False))
    elif op == "create":
        try:
            cat.create_namespace(req["namespace"])
        except NamespaceAlreadyExistsError:
            pass
        schema = pa.schema(
            [
                pa.field("symbol", pa.string(), nullable=False),
                pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
                pa.field("qty", pa.int64(), nullable=True),
            ]
        )
        t = cat.create_table(req["table"], schema=schema, properties=req.get("properties", {}))
        out = describe(t)
    elif op == "append":
        t = cat.load_table(req["table"])
        t.append(pa.Table.from_pylist(req["rows"], schema=t.schema().as_arrow()))
        out = describe(cat.load_table(req["table"]), True)
    elif op == "set_properties":
        t = cat.load_table(req["table"])
        with t.transaction() as tx:
            tx.set_properties(**req["properties"])
        out = describe(cat.load_table(req["table"]))
    else:
        raise ValueError(f"unknown op {op}")
    json.dump(out, sys.stdout)


main()
