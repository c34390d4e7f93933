"""PyIceberg side of interop.itest.ts, run through runPython (@k2/testing): JSON request on stdin, JSON answer on stdout.

Request: {"uri": "sqlite:////abs/catalog.db", "warehouse": "file:///abs/wh", "name": "rest_backend",
"namespace": "market", "table": "market.trades"}.

Creates a trades table partitioned by identity(symbol) (the only transform PyIceberg 0.12 can write without the
optional pyiceberg-core package) and appends two pyarrow batches, one snapshot each. Exact values go back as
strings: decimals as plain text, timestamps as µs since the epoch, longs and snapshot ids as decimal text, because
the caller parses the answer with JSON.parse, which would round anything above 2^53.
"""

import json
import sys
from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import (
    DecimalType,
    ListType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

SCHEMA = Schema(
    NestedField(1, "message_id", StringType(), required=True),
    NestedField(2, "symbol", StringType(), required=True),
    NestedField(3, "exchange", StringType(), required=True),
    NestedField(4, "timestamp", TimestamptzType(), required=True),
    NestedField(5, "price", DecimalType(18, 8), required=True),
    NestedField(6, "quantity", DecimalType(18, 8), required=True),
    NestedField(7, "source_sequence", LongType(), required=False),
    NestedField(8, "trade_conditions", ListType(9, StringType(), element_required=False), required=False),
)
SPEC = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="symbol"))

UTC = timezone.utc


def ts(*args):
    return datetime(*args, tzinfo=UTC)


BATCHES = [
    [
        dict(message_id="m-1", symbol="BTCUSDT", exchange="binance", timestamp=ts(2026, 1, 2, 3, 4, 5, 123456),
             price=Decimal("65000.12345678"), quantity=Decimal("0.00000001"), source_sequence=2**62 + 7,
             trade_conditions=["T", "I"]),
        dict(message_id="m-2", symbol="BTCUSDT", exchange="binance", timestamp=ts(2026, 1, 2, 3, 4, 5, 123457),
             price=Decimal("64999.99999999"), quantity=Decimal("1.50000000"), source_sequence=9007199254740993,
             trade_conditions=[]),
        dict(message_id="m-3", symbol="ETHUSDT", exchange="kraken", timestamp=ts(2026, 1, 2, 3, 4, 6, 1),
             price=Decimal("3500.5"), quantity=Decimal("12.34567890"), source_sequence=None,
             trade_conditions=None),
    ],
    [
        dict(message_id="m-4", symbol="SOLUSDT", exchange="coinbase", timestamp=ts(2026, 1, 3, 0, 0, 0, 999999),
             price=Decimal("150.00000001"), quantity=Decimal("9999999999.99999999"), source_sequence=-5,
             trade_conditions=["X"]),
        dict(message_id="m-5", symbol="BTCUSDT", exchange="kraken", timestamp=ts(2026, 1, 3, 0, 0, 1, 0),
             price=Decimal("65100"), quantity=Decimal("0.25"), source_sequence=2**63 - 1,
             trade_conditions=["A", None]),
        dict(message_id="m-6", symbol="ETHUSDT", exchange="binance", timestamp=ts(1969, 12, 31, 23, 59, 59, 999999),
             price=Decimal("3499.00000000"), quantity=Decimal("0.1"), source_sequence=0,
             trade_conditions=["B"]),
    ],
]


def micros(d):
    delta = d - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def exact(row):
    q = Decimal("0.00000001")
    return {
        "message_id": row["message_id"],
        "symbol": row["symbol"],
        "exchange": row["exchange"],
        "timestamp": str(micros(row["timestamp"])),
        "price": format(row["price"].quantize(q), "f"),
        "quantity": format(row["quantity"].quantize(q), "f"),
        "source_sequence": None if row["source_sequence"] is None else str(row["source_sequence"]),
        "trade_conditions": row["trade_conditions"],
    }


def main():
    req = json.load(sys.stdin)
    cat = SqlCatalog(req["name"], uri=req["uri"], warehouse=req["warehouse"])
    cat.create_namespace(req["namespace"])
    t = cat.create_table(req["table"], schema=SCHEMA, partition_spec=SPEC)
    arrow_schema = t.schema().as_arrow()
    for batch in BATCHES:
        t.append(pa.Table.from_pylist(batch, schema=arrow_schema))
    t = cat.load_table(req["table"])
    written = sorted((exact(r) for b in BATCHES for r in b), key=lambda r: r["message_id"])
    # PyIceberg's own reader agrees with what it was given (so a mismatch on the TS side is ours).
    scanned = sorted((exact(r) for r in t.scan().to_arrow().to_pylist()), key=lambda r: r["message_id"])
    if scanned != written:
        raise AssertionError(f"PyIceberg scan differs from its input: {scanned} != {written}")
    json.dump(
        {
            "metadata_location": t.metadata_location,
            "format_version": t.metadata.format_version,
            "snapshot_ids": [str(s.snapshot_id) for s in t.snapshots()],
            "current_snapshot_id": str(t.current_snapshot().snapshot_id),
            "rows": written,
        },
        sys.stdout,
    )


main()
