import { avroToIcebergSchema, type AvroField } from '@k2/iceberg';
import { TRADE_V2_SCHEMA } from '@k2/schema';
import { MARKET_NAMESPACE, marketTableLayout, TABLE_BY_KIND } from './tables';

describe('K2 market tables', () => {
  const { schema } = avroToIcebergSchema((TRADE_V2_SCHEMA as unknown as { fields: AvroField[] }).fields);

  it('partitions by day(timestamp) and exchange and sorts by symbol, timestamp', () => {
    const layout = marketTableLayout(schema);
    expect(layout.spec.fields).toEqual([
      { 'source-id': 6, 'field-id': 1000, name: 'timestamp_day', transform: 'day' },
      { 'source-id': 4, 'field-id': 1001, name: 'exchange', transform: 'identity' },
    ]);
    expect(layout.sortOrder.fields.map((f) => f['source-id'])).toEqual([3, 6]);
  });

  it('a schema without timestamp or symbol (reference data) gets an exchange partition and no sort order', () => {
    const layout = marketTableLayout({ type: 'struct', 'schema-id': 0, fields: [{ id: 1, name: 'exchange', required: true, type: 'string' }] });
    expect(layout.spec.fields).toEqual([{ 'source-id': 1, 'field-id': 1000, name: 'exchange', transform: 'identity' }]);
    expect(layout.sortOrder).toEqual({ 'order-id': 0, fields: [] });
  });

  it('names one table per record kind in market_data', () => {
    expect(MARKET_NAMESPACE).toEqual(['market_data']);
    expect(TABLE_BY_KIND).toEqual({ trades: 'trades_v2', quotes: 'quotes_v2', reference: 'reference_data_v2' });
  });
});
