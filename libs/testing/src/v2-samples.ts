import { parseDecimal } from '@k2/decimal';
import { messageId, microsFromIso, type QuoteV2, type TradeV2 } from '@k2/schema';

/**
 * V2 records built by hand from real payloads, for serde and infrastructure tests. The exchange mappers
 * (later issues) produce these shapes from the same payloads; these samples only exercise the pipe.
 */

// Binance spot `<symbol>@trade`, example from binance-spot-api-docs web-socket-streams.md ("Trade Streams"):
// {"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}
const binance: TradeV2 = {
  message_id: messageId('BINANCE', 'BNBBTC', '12345'),
  trade_id: '12345',
  symbol: 'BNBBTC',
  exchange: 'BINANCE',
  asset_class: 'crypto',
  timestamp: 1672515782136000n,
  price: parseDecimal('price', '0.001', 'price'),
  quantity: parseDecimal('quantity', '100', 'quantity'),
  currency: 'BTC',
  side: 'SELL', // m=true: the buyer was the maker, so the aggressor sold
  trade_conditions: [],
  source_sequence: 12345n,
  ingestion_timestamp: 1672515782136412n,
  platform_sequence: 1n,
  vendor_data: { event_type: 'trade', event_time: '1672515782136', is_buyer_maker: 'true', is_best_match: 'true' },
};

// Kraken WebSocket v2 `trade` update, example from docs.kraken.com ("Trade" channel):
// {"channel":"trade","type":"update","data":[{"symbol":"MATIC/USD","side":"sell","price":0.5117,"qty":40.0,
//   "ord_type":"market","trade_id":4665906,"timestamp":"2023-09-25T07:49:37.708706Z"}]}
const kraken: TradeV2 = {
  message_id: messageId('KRAKEN', 'MATICUSD', '4665906'),
  trade_id: '4665906',
  symbol: 'MATICUSD',
  exchange: 'KRAKEN',
  asset_class: 'crypto',
  timestamp: microsFromIso('2023-09-25T07:49:37.708706Z'),
  price: parseDecimal('price', '0.5117', 'price'),
  quantity: parseDecimal('quantity', '40.0', 'quantity'),
  currency: 'USD',
  side: 'SELL',
  trade_conditions: [],
  source_sequence: 4665906n,
  ingestion_timestamp: 1695628177709001n,
  platform_sequence: 1n,
  vendor_data: { pair: 'MATIC/USD', ord_type: 'market' },
};

// ASX sample data, trades/7078.csv line 1 (company 7078 = BHP), Sydney local time (AEDT, UTC+11):
// 03/10/2014,07:57:14.754,36.667,20000,3,X,
const asx: TradeV2 = {
  message_id: messageId('ASX', 'BHP', '7078:trades/7078.csv:1'),
  trade_id: '7078:trades/7078.csv:1',
  symbol: 'BHP',
  exchange: 'ASX',
  asset_class: 'equities',
  timestamp: 1394398634754000n,
  price: parseDecimal('price', '36.667', 'price'),
  quantity: parseDecimal('quantity', '20000', 'quantity'),
  currency: 'AUD',
  side: 'UNKNOWN',
  trade_conditions: ['3'],
  source_sequence: null,
  ingestion_timestamp: 1700000000000000n,
  platform_sequence: null,
  vendor_data: { company_id: '7078', qualifiers: '3', venue: 'X', filtered_price: '' },
};

// Extremes the pipe must carry exactly: largest Decimal(18,8), smallest unit, a sequence above 2^53.
const extremes: TradeV2 = {
  ...binance,
  message_id: messageId('BINANCE', 'BNBBTC', '9007199254740993'),
  trade_id: '9007199254740993',
  price: parseDecimal('price', '9999999999.99999999', 'price'),
  quantity: parseDecimal('quantity', '0.00000001', 'quantity'),
  source_sequence: 9007199254740993n,
  platform_sequence: 9223372036854775807n,
  vendor_data: null,
};

export function sampleTrades(): TradeV2[] {
  return [binance, kraken, asx, extremes].map((t) => ({ ...t }));
}

// Binance `<symbol>@bookTicker`, example from the same document ("Individual Symbol Book Ticker Streams"):
// {"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}
const binanceQuote: QuoteV2 = {
  message_id: messageId('BINANCE', 'BNBUSDT', '400900217', 'quote'),
  symbol: 'BNBUSDT',
  exchange: 'BINANCE',
  asset_class: 'crypto',
  timestamp: 1672515782140000n,
  bid_price: parseDecimal('bid_price', '25.35190000', 'price'),
  bid_quantity: parseDecimal('bid_quantity', '31.21000000', 'size'),
  ask_price: parseDecimal('ask_price', '25.36520000', 'price'),
  ask_quantity: parseDecimal('ask_quantity', '40.66000000', 'size'),
  currency: 'USDT',
  source_sequence: 400900217n,
  ingestion_timestamp: 1672515782140000n,
  platform_sequence: 1n,
  vendor_data: { timestamp_source: 'receive_time' },
};

// ASX sample quotes/7078.csv line 1 — an empty ask side (0.0 with size 0):
// 03/10/2014,05:43:45.676,37.7,0.0,300,0
const asxQuote: QuoteV2 = {
  message_id: messageId('ASX', 'BHP', '7078:quotes/7078.csv:1', 'quote'),
  symbol: 'BHP',
  exchange: 'ASX',
  asset_class: 'equities',
  timestamp: 1394390625676000n,
  bid_price: parseDecimal('bid_price', '37.7', 'price'),
  bid_quantity: parseDecimal('bid_quantity', '300', 'size'),
  ask_price: parseDecimal('ask_price', '0.0', 'price'),
  ask_quantity: parseDecimal('ask_quantity', '0', 'size'),
  currency: 'AUD',
  source_sequence: null,
  ingestion_timestamp: 1700000000000000n,
  platform_sequence: null,
  vendor_data: { company_id: '7078' },
};

export function sampleQuotes(): QuoteV2[] {
  return [binanceQuote, asxQuote].map((q) => ({ ...q }));
}
