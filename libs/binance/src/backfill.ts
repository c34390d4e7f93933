import { RestClient, type BackfillSource, type DecodeContext } from '@k2/feed';
import type { BinanceAdapterOptions } from './adapter';
import { mapBinanceRestAggTrades, mapBinanceRestTrades } from './rest-mapper';

/** Missing trade ids from `/api/v3/historicalTrades` (or `/api/v3/aggTrades` for the aggTrade stream) by `fromId`. */
export class BinanceBackfill implements BackfillSource {
  private readonly rest: RestClient;

  constructor(private readonly o: BinanceAdapterOptions) {
    // X-MBX-TIME-UNIT asks for µs times, as the WebSocket side does (rest-api.md, "General API Information").
    this.rest = new RestClient({ exchange: 'binance', minIntervalMs: o.restMinIntervalMs ?? 250, headers: { 'X-MBX-TIME-UNIT': 'MICROSECOND' } });
  }

  async fetchAfter(symbol: string, after: { tradeId: bigint }, ctx: DecodeContext) {
    const base = this.o.restUrl.replace(/\/+$/, '');
    const path = this.o.stream === 'trade' ? '/api/v3/historicalTrades' : '/api/v3/aggTrades';
    const body = await this.rest.get(`${base}${path}?symbol=${encodeURIComponent(symbol)}&fromId=${after.tradeId + 1n}&limit=1000`);
    return this.o.stream === 'trade' ? mapBinanceRestTrades(body, symbol, ctx, 'us') : mapBinanceRestAggTrades(body, symbol, ctx, 'us');
  }
}
