import { applyTransform, avroToIcebergSchema, type AvroField, type DataFile } from '@k2/iceberg';
import { marketTableLayout, partitionKey, partitionOf } from '@k2/lake';
import { TRADE_V2_SCHEMA } from '@k2/schema';
import { sampleTrades } from '@k2/testing';
import { dataFilePartitionKey } from './dedup';

describe('dedup partition keys', () => {
  it('keys a data file exactly as the sink keys the records it holds, so replays are found', () => {
    const { schema } = avroToIcebergSchema((TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields);
    const { spec } = marketTableLayout(schema);
    for (const t of sampleTrades()) {
      const rec = t as unknown as Record<string, unknown>;
      // The partition tuple the table sink writes into the file's manifest entry.
      const partition: Record<string, unknown> = {};
      for (const pf of spec.fields) {
        const src = schema.fields.find((f) => f.id === pf['source-id'])!;
        partition[pf.name] = applyTransform(pf.transform, src.type, rec[src.name]);
      }
      expect(dataFilePartitionKey({ partition } as unknown as DataFile)).toBe(partitionKey(partitionOf(rec)));
    }
    expect(dataFilePartitionKey({ partition: { exchange: 'ASX' } } as unknown as DataFile)).toBe(partitionKey({ day: null, exchange: 'ASX' }));
  });
});
