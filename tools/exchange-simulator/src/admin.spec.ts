import { type Simulator, type SimulatorState, startSimulator } from './simulator';
import { TestClient, getJson, sleep, until } from './test-support';

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('admin API', () => {
  let sim: Simulator;
  let admin: string;

  beforeEach(async () => {
    sim = await startSimulator({ rate: 500, logLevel: 'silent', binanceStartId: 100 });
    admin = sim.urls.admin;
  });
  afterEach(() => sim.close());

  it('reports per-symbol id ranges as strings, connections and generation state', async () => {
    await until('trades', () => (sim.state().kraken!.symbols['ETH/USD'].count > 5 ? true : undefined));
    const c = await TestClient.open(`${sim.urls.binance!.ws}/ws`);
    const { body } = await getJson<SimulatorState>(`${admin}/state`);
    expect(Object.keys(body.binance!.symbols)).toEqual(['BTCUSDT', 'ETHUSDT', 'BNBUSDT']);
    expect(Object.keys(body.kraken!.symbols)).toEqual(['BTC/USD', 'ETH/USD']);
    const btc = body.binance!.symbols['BTCUSDT'];
    expect(btc.firstTradeId).toBe('100');
    expect(BigInt(btc.lastTradeId!) - BigInt(btc.firstTradeId!) + 1n).toBe(BigInt(btc.count));
    expect(body.kraken!.symbols['ETH/USD'].firstTradeId).toBe('1');
    expect(body.binance!.connections).toBe(1);
    expect(body.kraken!.connections).toBe(0);
    expect(body.binance!.generating).toBe(true);
    c.close();
  });

  it('starts Kraken trade ids and Binance bookTicker update ids where asked (runs sharing a topic stay apart)', async () => {
    const other = await startSimulator({ rate: 500, logLevel: 'silent', krakenStartId: 7_000_000, binanceBookStartId: 9_000_000_000, binanceSymbols: ['BTCUSDT'] });
    try {
      const c = await TestClient.open(`${other.urls.binance!.ws}/ws/btcusdt@bookTicker`);
      const q = await c.nextJson<{ u: number }>((v) => typeof v.u === 'number');
      expect(q.u).toBeGreaterThanOrEqual(9_000_000_000);
      c.close();
      await until('kraken trades', () => (other.state().kraken!.symbols['BTC/USD'].count > 0 ? true : undefined));
      expect(other.state().kraken!.symbols['BTC/USD'].firstTradeId).toBe('7000000');
    } finally {
      await other.close();
    }
  });

  it('lists every generated trade id and settles totals on pause', async () => {
    await until('trades', () => (sim.state().kraken!.symbols['BTC/USD'].count > 3 ? true : undefined));
    await post(`${admin}/pause`, {});
    await sleep(50);
    const before = sim.state();
    await sleep(150);
    expect(sim.state().binance!.symbols['BTCUSDT'].count).toBe(before.binance!.symbols['BTCUSDT'].count);
    expect(before.binance!.generating).toBe(false);
    const { body } = await getJson<{ ids: string[] }>(`${admin}/trades?exchange=kraken&symbol=${encodeURIComponent('BTC/USD')}`);
    const st = before.kraken!.symbols['BTC/USD'];
    expect(body.ids).toHaveLength(st.count);
    expect(body.ids[0]).toBe(st.firstTradeId);
    expect(body.ids[body.ids.length - 1]).toBe(st.lastTradeId);
    await post(`${admin}/resume`, { exchange: 'kraken' });
    await until('kraken resumes', () => (sim.state().kraken!.symbols['BTC/USD'].count > st.count ? true : undefined));
    expect(sim.state().binance!.paused).toBe(true);
  });

  it('changes the rate per exchange or for both', async () => {
    expect((await post(`${admin}/rate`, { exchange: 'binance', rate: 0 })).status).toBe(200);
    await sleep(50);
    const n = sim.state().binance!.symbols['ETHUSDT'].count;
    await sleep(150);
    expect(sim.state().binance!.symbols['ETHUSDT'].count).toBe(n);
    expect(sim.state().kraken!.rate).toBe(500);
    await post(`${admin}/rate`, { rate: 2000 });
    expect(sim.state().binance!.rate).toBe(2000);
    expect(sim.state().kraken!.rate).toBe(2000);
  });

  it('injects faults over HTTP and rejects bad requests with 400', async () => {
    const c = await TestClient.open(`${sim.urls.kraken!.ws}`);
    const r = await post(`${admin}/fault`, { exchange: 'kraken', type: 'drop' });
    expect(r).toEqual({ status: 200, body: { ok: true, exchange: 'kraken', type: 'drop', affected: 1 } });
    await c.closed;
    const rej = await post(`${admin}/fault`, { exchange: 'binance', type: 'reject-connections', durationMs: 100 });
    expect(rej.body['until']).toEqual(expect.any(Number));
    expect((await post(`${admin}/fault`, { exchange: 'binance', type: 'explode' })).status).toBe(400);
    expect((await post(`${admin}/fault`, { exchange: 'nasdaq', type: 'drop' })).status).toBe(400);
    expect((await post(`${admin}/fault`, { exchange: 'binance', type: 'stall' })).body['error']).toMatch(/durationMs/);
    expect((await post(`${admin}/fault`, { exchange: 'binance', type: 'gap', count: 1, symbol: 'DOGEUSDT' })).status).toBe(400);
    expect((await post(`${admin}/fault`, '{not json')).status).toBe(400);
    expect((await post(`${admin}/rate`, { rate: -1 })).status).toBe(400);
    expect((await getJson(`${admin}/trades?exchange=binance&symbol=NOPE`)).status).toBe(400);
    expect((await getJson(`${admin}/nothing`)).status).toBe(404);
  });

  it('stops each symbol at --max-trades and reports generating=false', async () => {
    await sim.close();
    sim = await startSimulator({ rate: 2000, logLevel: 'silent', maxTrades: 25 });
    await until('max reached', () => (sim.state().binance!.generating || sim.state().kraken!.generating ? undefined : true));
    const st = sim.state();
    for (const ex of [st.binance!, st.kraken!]) for (const s of Object.values(ex.symbols)) expect(s.count).toBe(25);
  });

  it('is deterministic in content for a given --seed', async () => {
    await sim.close();
    const tapes: string[] = [];
    for (let run = 0; run < 2; run++) {
      sim = await startSimulator({ exchanges: ['binance'], rate: run === 0 ? 3000 : 700, seed: 99, logLevel: 'silent', maxTrades: 40 });
      await until('max reached', () => (sim.state().binance!.generating ? undefined : true));
      const rows = (await getJson<Array<{ price: string; qty: string; isBuyerMaker: boolean }>>(`${sim.urls.binance!.rest}/api/v3/historicalTrades?symbol=ETHUSDT&fromId=3000000000`)).body;
      tapes.push(JSON.stringify(rows.map((r) => [r.price, r.qty, r.isBuyerMaker])));
      if (run === 0) await sim.close();
    }
    expect(tapes[0]).toBe(tapes[1]);
  });
});
