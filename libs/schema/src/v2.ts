import type * as avro from 'avsc';
import { QUOTE_V2_SCHEMA, REFERENCE_DATA_V2_SCHEMA, TRADE_V2_SCHEMA } from './generated/schemas';
import { avroTypeForSchema } from './logical-types';
import type { QuoteV2, RecordKind, ReferenceDataV2, TradeV2 } from './types';

/** The V2 schema per record kind, as JSON (what gets registered) and as a parsed avsc Type. */
export const V2_SCHEMAS: Readonly<Record<RecordKind, object>> = Object.freeze({
  trades: TRADE_V2_SCHEMA,
  quotes: QUOTE_V2_SCHEMA,
  reference: REFERENCE_DATA_V2_SCHEMA,
});

let cache: Record<RecordKind, avro.Type> | undefined;

export function v2Type(kind: RecordKind): avro.Type {
  cache ??= {
    trades: avroTypeForSchema(TRADE_V2_SCHEMA as unknown as avro.Schema),
    quotes: avroTypeForSchema(QUOTE_V2_SCHEMA as unknown as avro.Schema),
    reference: avroTypeForSchema(REFERENCE_DATA_V2_SCHEMA as unknown as avro.Schema),
  };
  return cache[kind];
}

/** Field names in schema order, for checks that TS types and schemas agree. */
export function v2FieldNames(kind: RecordKind): string[] {
  return (V2_SCHEMAS[kind] as { fields: ReadonlyArray<{ name: string }> }).fields.map((f) => f.name);
}

export type { TradeV2, QuoteV2, ReferenceDataV2 };
