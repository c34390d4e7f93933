import { RestClient, type BackfillSource, type DecodeContext } from '@k2/feed';
import type { KrakenAdapterOptions } from './adapter';
import { mapKrakenRestTrades } from './rest-mapper';
import { canonicalKrakenSymbol, krakenRestPair } from './symbols';

/**
 * Missing trades from REST `/0/public/Trades`, which pages by time (`since`), not by id: ask from just before the
 * last known trade's time and let the sequencer drop what it already has by trade_id.
 */
export class KrakenBackfill implements BackfillSource {
  private readonly rest: RestClient;
  private readonly wsSymbols = new Map<string, string>();

  constructor(private readonly o: KrakenAdapterOptions) {
    this.rest = new RestClient({ exchange: 'kraken', minIntervalMs: o.restMinIntervalMs ?? 1000 });
    for (const s of o.symbols) this.wsSymbols.set(canonicalKrakenSymbol(s), s);
  }

  async fetchAfter(symbol: string, after: { tradeId: bigint; timestampMicros: bigint }, ctx: DecodeContext) {
    const ws = this.wsSymbols.get(symbol) ?? symbol;
    const since = after.timestampMicros > 0n ? secondsText(after.timestampMicros - 1n) : '0';
    const base = this.o.restUrl.replace(/\/+$/, '');
    const body = await this.rest.get(`${base}/0/public/Trades?pair=${encodeURIComponent(krakenRestPair(ws))}&since=${since}&count=1000`);
    return mapKrakenRestTrades(body, ws, ctx).trades;
  }
}

/** µs since the epoch as decimal seconds, exactly (no float). */
function secondsText(us: bigint): string {
  const s = us / 1_000_000n;
  const frac = (us % 1_000_000n).toString().padStart(6, '0');
  return `${s}.${frac}`;
}
