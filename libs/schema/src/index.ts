export * from './types';
export * from './logical-types';
export * from './message-id';
export * from './time';
export * from './v2';
export { TRADE_V2_SCHEMA, QUOTE_V2_SCHEMA, REFERENCE_DATA_V2_SCHEMA } from './generated/schemas';
