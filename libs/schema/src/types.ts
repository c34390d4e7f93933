import type { Decimal } from '@k2/decimal';

/** TypeScript shapes of the V2 Avro records (src/avro/*.avsc). Avro `long` is a bigint; decimals are Decimal text. */
export const ASSET_CLASSES = ['equities', 'crypto', 'futures', 'options'] as const;
export type AssetClass = (typeof ASSET_CLASSES)[number];

export const TRADE_SIDES = ['BUY', 'SELL', 'SELL_SHORT', 'UNKNOWN'] as const;
export type TradeSide = (typeof TRADE_SIDES)[number];

export const REFERENCE_RECORD_TYPES = ['INSTRUMENT', 'DIVIDEND', 'SPLIT', 'MERGER'] as const;
export type ReferenceRecordType = (typeof REFERENCE_RECORD_TYPES)[number];

/** Microseconds since the Unix epoch, UTC. */
export type EpochMicros = bigint;
export type VendorData = Record<string, string>;

export interface TradeV2 {
  message_id: string;
  trade_id: string;
  symbol: string;
  exchange: string;
  asset_class: AssetClass;
  timestamp: EpochMicros;
  price: Decimal;
  quantity: Decimal;
  currency: string;
  side: TradeSide;
  trade_conditions: string[];
  source_sequence: bigint | null;
  ingestion_timestamp: EpochMicros;
  platform_sequence: bigint | null;
  vendor_data: VendorData | null;
}

export interface QuoteV2 {
  message_id: string;
  symbol: string;
  exchange: string;
  asset_class: AssetClass;
  timestamp: EpochMicros;
  bid_price: Decimal;
  bid_quantity: Decimal;
  ask_price: Decimal;
  ask_quantity: Decimal;
  currency: string;
  source_sequence: bigint | null;
  ingestion_timestamp: EpochMicros;
  platform_sequence: bigint | null;
  vendor_data: VendorData | null;
}

export interface ReferenceDataV2 {
  message_id: string;
  instrument_id: string;
  symbol: string;
  exchange: string;
  asset_class: AssetClass;
  record_type: ReferenceRecordType;
  name: string;
  isin: string | null;
  currency: string | null;
  effective_date: EpochMicros | null;
  is_active: boolean;
  ingestion_timestamp: EpochMicros;
  vendor_data: VendorData | null;
}

export type RecordKind = 'trades' | 'quotes' | 'reference';
export interface RecordByKind {
  trades: TradeV2;
  quotes: QuoteV2;
  reference: ReferenceDataV2;
}
