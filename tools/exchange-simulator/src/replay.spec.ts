import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRecording } from './replay';
import { type Simulator, startSimulator } from './simulator';
import { TestClient, getJson, until } from './test-support';

const SAMPLE = join(__dirname, '..', 'fixtures', 'sample-recording.jsonl');

describe('replay mode', () => {
  let sim: Simulator;
  afterEach(() => sim?.close());

  it('parses the sample recording: trades, quotes, derived aggregates; other frames ignored', () => {
    const rec = parseRecording(readFileSync(SAMPLE, 'utf8'), 500);
    expect(rec.symbols.binance).toEqual(['BNBBTC', 'BNBUSDT']);
    expect(rec.symbols.kraken).toEqual(['MATIC/USD', 'ALGO/USD']);
    const bt = rec.events.binance.filter((e) => e.kind === 'trade');
    // Each trade is its own aggregate here: 12346 comes 64 ms after 12345, 12347 at another price.
    expect(bt.map((e) => (e.kind === 'trade' ? [e.id, e.price, e.qty, e.agg] : []))).toEqual([
      [12345, 100000, 10000000000, 500],
      [12346, 100000, 1250000000, 501],
      [12347, 100100, 300000000, 502],
    ]);
    const kt = rec.events.kraken.filter((e) => e.kind === 'trade');
    expect(kt.map((e) => (e.kind === 'trade' ? e.id : 0))).toEqual([4665846, 4665847, 4665848, 4665849]);
    expect(rec.skipped).toBe(0);
  });

  it('serves the recorded trades over WebSocket and REST with their ids, prices and times', async () => {
    sim = await startSimulator({ mode: 'replay', replayFile: SAMPLE, replaySpeed: 0, logLevel: 'silent' });
    await until('replay done', () => (sim.state().binance!.generating || sim.state().kraken!.generating ? undefined : true));
    const st = sim.state();
    expect(st.binance!.symbols['BNBBTC']).toMatchObject({ firstTradeId: '12345', lastTradeId: '12347', count: 3 });
    expect(st.kraken!.symbols['MATIC/USD']).toMatchObject({ firstTradeId: '4665846', lastTradeId: '4665849', count: 4 });
    const rows = (await getJson<Array<Record<string, unknown>>>(`${sim.urls.binance!.rest}/api/v3/historicalTrades?symbol=BNBBTC&fromId=12345`)).body;
    expect(rows[0]).toEqual({ id: 12345, price: '0.00100000', qty: '100.00000000', quoteQty: '0.10000000', time: 1672515782136, isBuyerMaker: true, isBestMatch: true });
    const k = await getJson<{ result: Record<string, unknown> }>(`${sim.urls.kraken!.rest}/0/public/Trades?pair=MATICUSD`);
    expect(k.text).toContain('["0.5147000","6423.46326000",1695628116.925533,"b","l","",4665846]');
    expect(k.text).toContain('["0.5146000","0.00000001",1695628177.100120,"s","m","",4665848]');
    // The Kraken snapshot a new subscriber gets carries the recorded number spellings.
    const c = await TestClient.open(sim.urls.kraken!.ws);
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['MATIC/USD'], snapshot: true } });
    const snap = await c.next((f) => f.includes('"type":"snapshot"'));
    expect(snap).toContain('"price":0.5147,"qty":6423.46326,"ord_type":"limit","trade_id":4665846,"timestamp":"2023-09-25T07:48:36.925533Z"');
    expect(snap).toContain('"qty":0.00000001');
    c.close();
  });
});
