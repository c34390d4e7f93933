import { isLosslessNumber, ValidationError, type LosslessJson } from '@k2/core';
import { AVRO_LONG_MAX, digitsFitLong, messageId, type TradeV2, type VendorData } from '@k2/schema';
import { invalid, isObj, parseMessage, positiveDecimalText, show, withPrefix } from './fields';
import { KRAKEN_ASSET_CLASS, KRAKEN_EXCHANGE, krakenPair } from './symbols';
import type { DecodeContext, FeedTrade } from '@k2/feed';

/**
 * Kraken REST GET /0/public/Trades (docs.kraken.com, "Get Recent Trades") → V2 trades, for gap backfill.
 *
 * Body: {"error":[],"result":{"<pair>":[[price, volume, time, "b"|"s", "m"|"l", misc, trade_id], …],"last":"<ns>"}}.
 * The pair key is Kraken's internal name (XXBTZUSD for ?pair=XBTUSD); whatever it is, the rows belong to
 * `wsSymbol`, so records carry the same canonical symbol, trade_id, source_sequence and message_id as the WS
 * `trade` channel gives for the same trade (dedup across the overlap works).
 *
 * `time` is float seconds (e.g. 1688669597.8277369: a double, more digits than µs but not exact); it is read from
 * its source text and rounded to the nearest µs, vendor_data.timestamp_source = "rest_float_seconds". Rows without
 * a trade_id (responses before Kraken added it) are rejected: they cannot be placed in the sequence.
 * Returns `last` (the `since` cursor for the next page) as exact text.
 */
export function mapKrakenRestTrades(raw: string, wsSymbol: string, ctx: DecodeContext): { trades: FeedTrade[]; last: string } {
  const { symbol, quote } = krakenPair(wsSymbol);
  const body = parseMessage(raw, 'kraken Trades');
  if (!isObj(body)) throw new ValidationError(`kraken Trades: response must be a JSON object, got ${show(body)}`);
  const errors = body['error'];
  if (Array.isArray(errors) && errors.length > 0) {
    // e.g. ["EQuery:Unknown asset pair"], ["EGeneral:Too many requests"]
    const list = errors.map((e) => (typeof e === 'string' ? e : show(e)));
    throw new ValidationError(`kraken Trades: error ${list.join('; ')}`, { context: { errors: list } });
  }
  const result = body['result'];
  if (!isObj(result)) throw invalid('result', result, result === undefined ? 'is required' : 'must be a JSON object');

  const lastValue = result['last'];
  let last: string;
  if (typeof lastValue === 'string' && /^[0-9]+$/.test(lastValue)) last = lastValue;
  else if (isLosslessNumber(lastValue) && /^[0-9]+$/.test(lastValue.value)) last = lastValue.value;
  else throw invalid('result.last', lastValue, lastValue === undefined ? 'is required' : 'must be a non-negative integer');

  const keys = Object.keys(result).filter((k) => k !== 'last');
  const [restPair] = keys;
  if (keys.length !== 1 || restPair === undefined) {
    throw invalid('result', result, `must hold exactly one pair besides "last", found ${keys.length}`);
  }
  const rows = result[restPair];
  if (!Array.isArray(rows)) throw invalid(`result.${restPair}`, rows, 'must be an array of trades');

  const trades: FeedTrade[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    trades[i] = mapRow(rows[i], i, { symbol, quote, wsSymbol, restPair }, ctx);
  }
  return { trades, last };
}

interface PairInfo {
  symbol: string;
  quote: string;
  wsSymbol: string;
  restPair: string;
}

function mapRow(row: LosslessJson | undefined, i: number, p: PairInfo, ctx: DecodeContext): FeedTrade {
  let where = `kraken Trades ${p.restPair} [${i}]`;
  try {
    if (!Array.isArray(row)) throw invalid('row', row, 'must be an array');
    const idValue = row[6];
    if (!isLosslessNumber(idValue) || !/^[0-9]+$/.test(idValue.value)) {
      throw invalid('[6] (trade_id)', idValue, idValue === undefined ? 'is required' : 'must be a non-negative integer');
    }
    const id = idValue.value;
    // source_sequence is an Avro long (issue 18: an id of 2^63 or more threw inside encoding).
    if (!digitsFitLong(id)) throw invalid('[6] (trade_id)', idValue, `is above ${AVRO_LONG_MAX}, the largest signed 64-bit id`);
    where = `kraken Trades ${p.restPair} [${i}] trade_id=${id}`;
    const sideCode = row[3];
    if (sideCode !== 'b' && sideCode !== 's') throw invalid('[3] (side)', sideCode, 'must be "b" or "s"');
    const typeCode = row[4];
    if (typeCode !== 'm' && typeCode !== 'l') throw invalid('[4] (order type)', typeCode, 'must be "m" or "l"');
    const misc = row[5];
    if (misc !== undefined && typeof misc !== 'string') throw invalid('[5] (misc)', misc, 'must be a string');
    // Same vendor_data keys as the WS trade (pair, ord_type), plus where the row came from.
    const vendor: VendorData = { pair: p.wsSymbol, ord_type: typeCode === 'm' ? 'market' : 'limit' };
    if (misc) vendor['misc'] = misc;
    vendor['rest_pair'] = p.restPair;
    vendor['timestamp_source'] = 'rest_float_seconds';
    vendor['origin'] = 'rest';
    const record: TradeV2 = {
      message_id: messageId(KRAKEN_EXCHANGE, p.symbol, id),
      trade_id: id,
      symbol: p.symbol,
      exchange: KRAKEN_EXCHANGE,
      asset_class: KRAKEN_ASSET_CLASS,
      timestamp: floatSecondsToMicros(row[2], '[2] (time)'),
      price: positiveDecimalText(row[0], '[0] (price)', 'price'),
      quantity: positiveDecimalText(row[1], '[1] (volume)', 'quantity'),
      currency: p.quote,
      side: sideCode === 'b' ? 'BUY' : 'SELL',
      trade_conditions: [],
      source_sequence: BigInt(id),
      ingestion_timestamp: ctx.receivedAtMicros,
      platform_sequence: null,
      vendor_data: vendor,
    };
    return { symbol: p.symbol, tradeId: record.source_sequence as bigint, record };
  } catch (e) {
    return withPrefix(where, e);
  }
}

/** "1688669597.8277369" → 1688669597827737n: seconds with any number of fraction digits, half-up to µs. */
export function floatSecondsToMicros(v: unknown, field: string): bigint {
  const text = isLosslessNumber(v) ? v.value : undefined;
  const m = text === undefined ? null : /^([0-9]{1,11})(?:\.([0-9]+))?$/.exec(text);
  if (!m) throw invalid(field, v, v === undefined ? 'is required' : 'must be epoch seconds as a plain non-negative JSON number');
  const [, seconds = '0', frac = ''] = m;
  let micros = BigInt(seconds) * 1_000_000n + BigInt(frac.slice(0, 6).padEnd(6, '0'));
  if (frac.length > 6 && frac.charCodeAt(6) >= 0x35 /* '5' */) micros += 1n;
  return micros;
}
