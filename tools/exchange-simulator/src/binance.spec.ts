import type { ClientOptions } from 'ws';
import { WRONG_TYPE_ID_BASE } from './binance';
import { type Simulator, startSimulator } from './simulator';
import { TestClient, getJson, sleep, until } from './test-support';

const FIXED8 = /^\d+\.\d{8}$/;

interface Trade {
  e: string;
  E: number;
  s: string;
  t: number;
  p: string;
  q: string;
  T: number;
  m: boolean;
  M: boolean;
}
interface Agg {
  e: string;
  E: number;
  s: string;
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}
interface RestTrade {
  id: number;
  price: string;
  qty: string;
  quoteQty: string;
  time: number;
  isBuyerMaker: boolean;
  isBestMatch: boolean;
}
interface RestAgg {
  a: number;
  p: string;
  q: string;
  f: number;
  l: number;
  T: number;
  m: boolean;
  M: boolean;
}

describe('Binance simulator', () => {
  let sim: Simulator;
  let ws: string;
  let rest: string;
  const clients: TestClient[] = [];
  const open = async (path: string, opts?: ClientOptions): Promise<TestClient> => {
    const c = await TestClient.open(`${ws}${path}`, opts ?? {});
    clients.push(c);
    return c;
  };

  beforeEach(async () => {
    sim = await startSimulator({ exchanges: ['binance'], rate: 400, seed: 7, logLevel: 'silent', pingIntervalMs: 60000 });
    ws = sim.urls.binance!.ws;
    rest = sim.urls.binance!.rest;
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sim.close();
  });

  it('streams raw @trade events with the documented fields, 8-decimal strings and consecutive ids', async () => {
    const c = await open('/ws/btcusdt@trade');
    await c.waitFrames(20);
    const trades = c.frames.slice(0, 20).map((f) => JSON.parse(f) as Trade);
    for (const t of trades) {
      expect(Object.keys(t)).toEqual(['e', 'E', 's', 't', 'p', 'q', 'T', 'm', 'M']);
      expect(t.e).toBe('trade');
      expect(t.s).toBe('BTCUSDT');
      expect(t.p).toMatch(FIXED8);
      expect(t.q).toMatch(FIXED8);
      expect(String(t.T)).toHaveLength(13); // milliseconds by default
      expect(t.E).toBeGreaterThanOrEqual(t.T);
      expect(typeof t.m).toBe('boolean');
    }
    for (let i = 1; i < trades.length; i++) expect(trades[i].t).toBe(trades[i - 1].t + 1);
    expect(trades[0].t).toBeGreaterThanOrEqual(3000000000);
  });

  it('wraps combined streams, honours timeUnit=MICROSECOND and aggregates trades with separate ids', async () => {
    const c = await open('/stream?streams=ethusdt@trade/ethusdt@aggTrade&timeUnit=microsecond');
    await c.waitFrames(60);
    const frames = c.frames.slice(0, 60).map((f) => JSON.parse(f) as { stream: string; data: Trade & Agg });
    const trades = frames.filter((f) => f.stream === 'ethusdt@trade').map((f) => f.data);
    const aggs = frames.filter((f) => f.stream === 'ethusdt@aggTrade').map((f) => f.data);
    expect(trades.length + aggs.length).toBe(60);
    expect(aggs.length).toBeGreaterThan(3);
    for (const f of frames) expect(Object.keys(f)).toEqual(['stream', 'data']);
    for (const t of trades) expect(String(t.T)).toHaveLength(16);
    for (const a of aggs) {
      expect(Object.keys(a)).toEqual(['e', 'E', 's', 'a', 'p', 'q', 'f', 'l', 'T', 'm', 'M']);
      expect(String(a.T)).toHaveLength(16);
      expect(a.a).toBeLessThan(3000000000); // aggregate ids are their own sequence
      expect(a.l).toBeGreaterThanOrEqual(a.f);
    }
    // Aggregates tile the trade ids without holes, and each one's qty is the sum of its trades.
    for (let i = 1; i < aggs.length; i++) {
      expect(aggs[i].a).toBe(aggs[i - 1].a + 1);
      expect(aggs[i].f).toBe(aggs[i - 1].l + 1);
    }
    const byId = new Map(trades.map((t) => [t.t, t]));
    for (const a of aggs) {
      const fills = [];
      for (let id = a.f; id <= a.l; id++) if (byId.has(id)) fills.push(byId.get(id)!);
      if (fills.length !== a.l - a.f + 1) continue;
      const sum = fills.reduce((s, t) => s + BigInt(t.q.replace('.', '')), 0n);
      expect(BigInt(a.q.replace('.', ''))).toBe(sum);
      for (const t of fills) expect(t.p).toBe(a.p);
      expect(a.T).toBe(fills[0].T);
    }
  });

  it('streams bookTicker with u,s,b,B,a,A and bid below ask', async () => {
    const c = await open('/ws/bnbusdt@bookTicker');
    await c.waitFrames(10);
    for (const f of c.frames.slice(0, 10)) {
      const q = JSON.parse(f) as Record<string, string | number>;
      expect(Object.keys(q)).toEqual(['u', 's', 'b', 'B', 'a', 'A']);
      expect(q['s']).toBe('BNBUSDT');
      expect(Number(q['b'])).toBeLessThan(Number(q['a']));
      expect(q['B']).toMatch(FIXED8);
    }
  });

  it('handles SUBSCRIBE, LIST_SUBSCRIPTIONS, UNSUBSCRIBE, properties and documented errors', async () => {
    const c = await open('/ws');
    c.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'ETHUSDT@aggtrade'], id: 1 });
    expect(await c.next()).toBe('{"result":null,"id":1}');
    await c.nextJson<Trade>((t) => t.e === 'trade');
    c.send({ method: 'LIST_SUBSCRIPTIONS', id: 'abc' });
    expect(await c.nextJson((v) => v['id'] === 'abc')).toEqual({ result: ['btcusdt@trade', 'ethusdt@aggTrade'], id: 'abc' });
    c.send({ method: 'UNSUBSCRIBE', params: ['btcusdt@trade'], id: 2 });
    await c.next((t) => t === '{"result":null,"id":2}');
    await sleep(300);
    c.send({ method: 'GET_PROPERTY', params: ['combined'], id: 3 });
    await c.next((t) => t === '{"result":false,"id":3}');
    c.send({ method: 'SET_PROPERTY', params: ['combined', true], id: 4 });
    await c.next((t) => t === '{"result":null,"id":4}');
    const wrapped = await c.nextJson<{ stream: string }>((v) => typeof v.stream === 'string');
    expect(wrapped.stream).toBe('ethusdt@aggTrade');
    // After the UNSUBSCRIBE reply no btcusdt trade arrives.
    const afterUnsub = c.frames.slice(c.frames.indexOf('{"result":null,"id":2}') + 1);
    expect(afterUnsub.some((f) => f.includes('"s":"BTCUSDT"'))).toBe(false);
    await sleep(1100); // stay under 5 messages per second
    c.send('{nope');
    expect(await c.nextJson((v) => 'code' in v)).toEqual({ code: 3, msg: 'Invalid JSON: expected value at line 1 column 1', id: null });
    c.send({ method: 'SUBSCRIBE_ALL', params: [], id: 5 });
    const unknown = await c.nextJson<{ code: number; msg: string; id: number }>((v) => 'code' in v);
    expect(unknown.code).toBe(2);
    expect(unknown.id).toBe(5);
    expect(unknown.msg).toContain('unknown variant `SUBSCRIBE_ALL`');
    c.send({ method: 'SUBSCRIBE', params: ['x@trade'] });
    expect(await c.nextJson((v) => 'code' in v)).toEqual({ code: 2, msg: 'Invalid request: request ID must be an unsigned integer', id: null });
  });

  it('disconnects a client that sends more than 5 messages in a second', async () => {
    const ok = await open('/ws');
    for (let i = 1; i <= 5; i++) ok.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
    await ok.next((t) => t.endsWith('"id":5}'));
    const bad = await open('/ws');
    for (let i = 1; i <= 6; i++) bad.send({ method: 'LIST_SUBSCRIPTIONS', id: i });
    expect((await bad.closed).code).toBe(1008);
    await sleep(100);
    expect(ok.closeInfo).toBeUndefined();
  });

  describe('server pings', () => {
    beforeEach(async () => {
      await sim.close();
      // Pongs count toward the 5 messages/s limit, so pings stay under 5 a second here.
      sim = await startSimulator({ exchanges: ['binance'], rate: 50, logLevel: 'silent', pingIntervalMs: 250, pongTimeoutMs: 400 });
      ws = sim.urls.binance!.ws;
    });

    it('pings with a payload; a client that pongs it stays connected', async () => {
      const c = await open('/ws/btcusdt@trade');
      await c.waitPings(5, 3000); // 1250 ms: three times the pong timeout
      expect(c.pings[0]).toMatch(/^\d+:1$/);
      expect(new Set(c.pings).size).toBe(c.pings.length);
      expect(c.closeInfo).toBeUndefined();
    });

    it('closes a client that does not pong within the timeout', async () => {
      const c = await open('/ws/btcusdt@trade', { autoPong: false });
      const t0 = Date.now();
      expect((await c.closed).code).toBe(1008);
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(600); // first ping at 250 ms + 400 ms timeout
      expect(took).toBeLessThan(2000);
    });

    it('does not accept a pong with a different payload', async () => {
      const c = await open('/ws/btcusdt@trade', { autoPong: false });
      c.ws.on('ping', () => c.ws.pong('something else'));
      expect((await c.closed).code).toBe(1008);
    });
  });

  describe('REST', () => {
    it('pages historicalTrades by fromId through exactly the tape, matching the WebSocket frames', async () => {
      const c = await open('/ws/btcusdt@trade');
      await c.waitFrames(30);
      sim.pause();
      await sleep(50);
      const ids = sim.tradeIds('binance', 'BTCUSDT').map(Number);
      expect(ids.length).toBeGreaterThanOrEqual(30);
      const got: RestTrade[] = [];
      let from = ids[0];
      for (;;) {
        const page = (await getJson<RestTrade[]>(`${rest}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${from}&limit=7`)).body;
        if (page.length === 0) break;
        expect(page.length).toBeLessThanOrEqual(7);
        got.push(...page);
        from = page[page.length - 1].id + 1;
      }
      expect(got.map((t) => t.id)).toEqual(ids);
      for (const t of got) {
        expect(Object.keys(t)).toEqual(['id', 'price', 'qty', 'quoteQty', 'time', 'isBuyerMaker', 'isBestMatch']);
        expect(t.price).toMatch(FIXED8);
        expect(t.quoteQty).toMatch(FIXED8);
      }
      const ws1 = c.frames.map((f) => JSON.parse(f) as Trade);
      for (const w of ws1) {
        const r = got.find((t) => t.id === w.t)!;
        expect([r.price, r.qty, r.time, r.isBuyerMaker]).toEqual([w.p, w.q, w.T, w.m]);
      }
      // Default: newest 500; /trades: newest; microsecond header.
      const newest = (await getJson<RestTrade[]>(`${rest}/api/v3/trades?symbol=BTCUSDT&limit=3`)).body;
      expect(newest.map((t) => t.id)).toEqual(ids.slice(-3));
      const micro = (await getJson<RestTrade[]>(`${rest}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${ids[0]}&limit=1`, { 'X-MBX-TIME-UNIT': 'MICROSECOND' })).body;
      expect(micro[0].time).toBeGreaterThan(got[0].time * 1000 - 1);
      expect(Math.floor(micro[0].time / 1000)).toBe(got[0].time);
    });

    it('pages aggTrades by fromId and every aggregate covers its trades without holes', async () => {
      await until('trades', () => (sim.state().binance!.symbols['ETHUSDT'].count > 60 ? true : undefined));
      sim.pause();
      const st = sim.state().binance!.symbols['ETHUSDT'];
      const aggs: RestAgg[] = [];
      let from = Number(st.firstAggTradeId);
      for (;;) {
        const page = (await getJson<RestAgg[]>(`${rest}/api/v3/aggTrades?symbol=ETHUSDT&fromId=${from}&limit=5`)).body;
        if (page.length === 0) break;
        aggs.push(...page);
        from = page[page.length - 1].a + 1;
      }
      expect(aggs[0].a).toBe(Number(st.firstAggTradeId));
      expect(aggs[aggs.length - 1].a).toBe(Number(st.lastAggTradeId));
      expect(aggs[0].f).toBe(Number(st.firstTradeId));
      expect(aggs[aggs.length - 1].l).toBe(Number(st.lastTradeId));
      for (let i = 1; i < aggs.length; i++) {
        expect(aggs[i].a).toBe(aggs[i - 1].a + 1);
        expect(aggs[i].f).toBe(aggs[i - 1].l + 1);
      }
      expect(Object.keys(aggs[0])).toEqual(['a', 'p', 'q', 'f', 'l', 'T', 'm', 'M']);
      const trades = (await getJson<RestTrade[]>(`${rest}/api/v3/historicalTrades?symbol=ETHUSDT&fromId=${aggs[0].f}&limit=1000`)).body;
      for (const a of aggs) {
        const fills = trades.filter((t) => t.id >= a.f && t.id <= a.l);
        expect(fills.reduce((s, t) => s + BigInt(t.qty.replace('.', '')), 0n)).toBe(BigInt(a.q.replace('.', '')));
        expect(new Set(fills.map((t) => t.price))).toEqual(new Set([a.p]));
      }
    });

    it('answers bad parameters with HTTP 400 and Binance error codes', async () => {
      const cases: Array<[string, number, number]> = [
        ['/api/v3/historicalTrades', 400, -1102],
        ['/api/v3/historicalTrades?symbol=NOPEUSDT', 400, -1121],
        ['/api/v3/historicalTrades?symbol=btcusdt', 400, -1100],
        ['/api/v3/historicalTrades?symbol=BTCUSDT&fromId=abc', 400, -1100],
        ['/api/v3/aggTrades?symbol=BTCUSDT&limit=-1', 400, -1100],
        ['/api/v3/trades?symbol=BTCUSDT&limit=0', 400, -1130],
      ];
      for (const [path, status, code] of cases) {
        const r = await getJson<{ code: number; msg: string }>(`${rest}${path}`);
        expect([path, r.status, r.body.code]).toEqual([path, status, code]);
        expect(typeof r.body.msg).toBe('string');
      }
      expect((await getJson(`${rest}/api/v3/ping`)).body).toEqual({});
      const time = (await getJson<{ serverTime: number }>(`${rest}/api/v3/time`)).body.serverTime;
      expect(Math.abs(time - Date.now())).toBeLessThan(5000);
      sim.setRate(20000);
      await until('1000 trades', () => (sim.state().binance!.symbols['BTCUSDT'].count > 1100 ? true : undefined), 10000);
      expect((await getJson<unknown[]>(`${rest}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=1&limit=5000`)).body).toHaveLength(1000);
      expect((await getJson<unknown[]>(`${rest}/api/v3/historicalTrades?symbol=BTCUSDT`)).body).toHaveLength(500);
    }, 20000);
  });

  describe('faults', () => {
    it('drop terminates every connection abruptly', async () => {
      const a = await open('/ws/btcusdt@trade');
      const b = await open('/ws');
      expect(sim.fault({ exchange: 'binance', type: 'drop' }).affected).toBe(2);
      expect((await a.closed).code).toBe(1006);
      expect((await b.closed).code).toBe(1006);
    });

    it('stall sends nothing (no data, no pings) with the socket open, then resumes', async () => {
      await sim.close();
      sim = await startSimulator({ exchanges: ['binance'], rate: 400, logLevel: 'silent', pingIntervalMs: 50, pongTimeoutMs: 200 });
      ws = sim.urls.binance!.ws;
      const c = await open('/ws/btcusdt@trade', { autoPong: false });
      await c.waitFrames(5);
      sim.fault({ exchange: 'binance', type: 'stall', durationMs: 600 });
      await sleep(20);
      const frames = c.frames.length;
      const pings = c.pings.length;
      c.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
      let ponged = false;
      c.ws.once('pong', () => (ponged = true));
      c.ws.ping('are you there');
      await sleep(500);
      expect(c.frames.length).toBe(frames);
      expect(ponged).toBe(false);
      expect(c.pings.length).toBe(pings);
      expect(c.closeInfo).toBeUndefined();
      await c.waitFrames(frames + 5, 2000);
      const pong = new Promise<string>((resolve) => c.ws.once('pong', (d: Buffer) => resolve(d.toString())));
      c.ws.ping('now?');
      expect(await pong).toBe('now?'); // answered again once the stall is over
      const after = JSON.parse(c.frames[c.frames.length - 1]) as Trade;
      expect(after.e).toBe('trade');
      // Trades generated during the stall are in the tape (REST) but were never sent.
      const seen = new Set(c.frames.filter((f) => f.startsWith('{"e"')).map((f) => (JSON.parse(f) as Trade).t));
      const missing = sim.tradeIds('binance', 'BTCUSDT').map(Number).filter((id) => id <= after.t && !seen.has(id));
      expect(missing.length).toBeGreaterThan(0);
    });

    it('malformed sends frames that are not JSON', async () => {
      const c = await open('/ws/btcusdt@trade');
      sim.fault({ exchange: 'binance', type: 'malformed', count: 5 });
      await c.waitFrames(5);
      let bad = 0;
      for (const f of c.frames) {
        try {
          JSON.parse(f);
        } catch {
          bad++;
        }
      }
      expect(bad).toBe(5);
    });

    it('wrong-type sends extra frames with one bad field each and ids outside the tape', async () => {
      const c = await open('/stream?streams=btcusdt@trade');
      expect(sim.fault({ exchange: 'binance', type: 'wrong-type', count: 6 }).affected).toBe(1);
      await c.waitFrames(6);
      const bad = c.frames.map((f) => (JSON.parse(f) as { data: Record<string, unknown> }).data).filter((d) => (d['t'] as number) >= WRONG_TYPE_ID_BASE);
      expect(bad).toHaveLength(6);
      expect(bad.map((d) => [typeof d['p'], d['q'], typeof d['T']])).toEqual([
        ['boolean', '1.00000000', 'number'],
        ['object', '1.00000000', 'number'],
        ['string', '-1.00000000', 'number'],
        ['undefined', '1.00000000', 'number'],
        ['string', 'abc', 'number'],
        ['string', '1.00000000', 'string'],
      ]);
      const tape = new Set(sim.tradeIds('binance', 'BTCUSDT'));
      for (const d of bad) expect(tape.has(String(d['t']))).toBe(false);
    });

    it('gap hides the next N trades from the WebSocket while REST still has them', async () => {
      const c = await open('/ws/btcusdt@trade');
      await c.waitFrames(3);
      sim.fault({ exchange: 'binance', type: 'gap', count: 4, symbol: 'BTCUSDT' });
      await c.waitFrames(c.frames.length + 10);
      const ids = c.frames.map((f) => (JSON.parse(f) as Trade).t);
      const holes: number[] = [];
      for (let i = 1; i < ids.length; i++) for (let id = ids[i - 1] + 1; id < ids[i]; id++) holes.push(id);
      expect(holes).toHaveLength(4);
      expect(holes[3] - holes[0]).toBe(3);
      const page = (await getJson<RestTrade[]>(`${rest}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${holes[0]}&limit=4`)).body;
      expect(page.map((t) => t.id)).toEqual(holes);
    });

    it('rotate sends serverShutdown, keeps streaming for the grace period, then closes; new connections survive', async () => {
      const raw = await open('/ws/btcusdt@trade');
      const comb = await open('/stream?streams=btcusdt@trade');
      expect(sim.fault({ exchange: 'binance', type: 'rotate', graceMs: 300 }).affected).toBe(2);
      const replacement = await open('/ws/btcusdt@trade');
      const ev = await raw.nextJson<{ e: string; E: number }>((v) => v.e === 'serverShutdown');
      expect(Object.keys(ev)).toEqual(['e', 'E']);
      const cev = await comb.nextJson<{ stream: string; data: { e: string } }>((v) => v.stream === '!serverShutdown');
      expect(cev.data.e).toBe('serverShutdown');
      const before = raw.frames.length;
      expect((await raw.closed).code).toBe(1001);
      expect(raw.frames.length).toBeGreaterThan(before); // data kept flowing during the grace period
      await comb.closed;
      await sleep(200);
      expect(replacement.closeInfo).toBeUndefined();
    });

    it('rotate with notify=false closes without the event', async () => {
      const c = await open('/ws/btcusdt@trade');
      sim.fault({ exchange: 'binance', type: 'rotate', graceMs: 0, notify: false });
      expect((await c.closed).code).toBe(1001);
      expect(c.frames.some((f) => f.includes('serverShutdown'))).toBe(false);
    });

    it('reject-connections refuses upgrades with HTTP 503 for the duration', async () => {
      const existing = await open('/ws/btcusdt@trade');
      sim.fault({ exchange: 'binance', type: 'reject-connections', durationMs: 300 });
      await expect(TestClient.open(`${ws}/ws/btcusdt@trade`)).rejects.toThrow('HTTP 503');
      expect(sim.state().binance!.rejectingConnections).toBe(true);
      await sleep(350);
      await open('/ws/btcusdt@trade');
      expect(existing.closeInfo).toBeUndefined();
    });

    it('drops a consumer that stops reading instead of buffering without bound', async () => {
      await sim.close();
      sim = await startSimulator({ exchanges: ['binance'], rate: 100000, quotesPerTrade: 2, logLevel: 'silent', maxBufferedBytes: 256 * 1024 });
      ws = sim.urls.binance!.ws;
      const c = await open('/ws/btcusdt@trade/btcusdt@bookTicker/ethusdt@trade/ethusdt@bookTicker');
      c.ws.pause();
      await until('slow consumer dropped', () => (sim.state().binance!.connections === 0 ? true : undefined), 15000);
    }, 20000);
  });

  it('refuses unknown paths with 404', async () => {
    await expect(TestClient.open(`${ws}/v2`)).rejects.toThrow('HTTP 404');
  });
});
