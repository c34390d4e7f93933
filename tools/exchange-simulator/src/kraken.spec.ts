import { WRONG_TYPE_ID_BASE } from './kraken';
import { type Simulator, startSimulator } from './simulator';
import { TestClient, getJson, sleep, until } from './test-support';

const RFC3339_US = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

interface KTrade {
  symbol: string;
  side: string;
  price: number;
  qty: number;
  ord_type: string;
  trade_id: number;
  timestamp: string;
}
interface Msg<T = unknown> {
  channel?: string;
  type?: string;
  data?: T[];
  method?: string;
  result?: Record<string, unknown>;
  success?: boolean;
  error?: string;
  req_id?: number;
  symbol?: string;
  time_in?: string;
  time_out?: string;
}
interface TradesResponse {
  error: string[];
  result: Record<string, unknown>;
}

/** The raw text of every "price"/"qty" number in a frame, as sent. */
function rawNumbers(frame: string, key: string): string[] {
  return [...frame.matchAll(new RegExp(`"${key}":([^,}]+)`, 'g'))].map((m) => m[1]);
}

describe('Kraken v2 simulator', () => {
  let sim: Simulator;
  let ws: string;
  let rest: string;
  const clients: TestClient[] = [];
  const open = async (): Promise<TestClient> => {
    const c = await TestClient.open(ws);
    clients.push(c);
    return c;
  };
  const start = async (opts: Parameters<typeof startSimulator>[0] = {}): Promise<void> => {
    sim = await startSimulator({ exchanges: ['kraken'], rate: 300, seed: 3, logLevel: 'silent', heartbeatIntervalMs: 100, ...opts });
    ws = sim.urls.kraken!.ws;
    rest = sim.urls.kraken!.rest;
  };

  beforeEach(() => start());
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sim.close();
  });

  it('greets with a status message whose connection_id (> 2^53) is written as raw digits', async () => {
    const c = await open();
    const text = await c.next();
    expect(text).toMatch(/^\{"channel":"status","type":"update","data":\[\{"api_version":"v2","connection_id":\d+,"system":"online","version":"[\d.]+"\}\]\}$/);
    const digits = /"connection_id":(\d+)/.exec(text)![1];
    expect(BigInt(digits)).toBeGreaterThan(2n ** 53n);
    // Why the digits matter: a plain JSON.parse loses them.
    const parsed = (JSON.parse(text) as { data: Array<{ connection_id: number }> }).data[0].connection_id;
    expect(String(parsed)).not.toBe(digits);
  });

  it('acks each symbol, sends the last 50 trades as a snapshot, then updates continuing the ids', async () => {
    await until('60 trades', () => (sim.state().kraken!.symbols['BTC/USD'].count >= 60 ? true : undefined));
    const c = await open();
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD', 'ETH/USD'], snapshot: true }, req_id: 42 });
    const ack = await c.nextJson<Msg>((m) => m.method === 'subscribe');
    expect(Object.keys(ack)).toEqual(['method', 'result', 'success', 'time_in', 'time_out', 'req_id']);
    expect(ack.result).toEqual({ channel: 'trade', snapshot: true, symbol: 'BTC/USD' });
    expect(ack.success).toBe(true);
    expect(ack.req_id).toBe(42);
    expect(ack.time_in).toMatch(RFC3339_US);
    const snap = await c.nextJson<Msg<KTrade>>((m) => m.channel === 'trade');
    expect(snap.type).toBe('snapshot');
    expect(snap.data).toHaveLength(50);
    const ids = snap.data!.map((t) => t.trade_id);
    const tape = sim.tradeIds('kraken', 'BTC/USD').map(Number);
    expect(ids).toEqual(tape.slice(tape.indexOf(ids[0]), tape.indexOf(ids[0]) + 50));
    const ack2 = await c.nextJson<Msg>((m) => m.method === 'subscribe');
    expect(ack2.result!['symbol']).toBe('ETH/USD');
    const upd = await c.nextJson<Msg<KTrade>>((m) => m.channel === 'trade' && m.type === 'update' && m.data![0].symbol === 'BTC/USD');
    expect(upd.data![0].trade_id).toBeGreaterThan(ids[49]);
    for (const t of [...snap.data!, ...upd.data!]) {
      expect(Object.keys(t)).toEqual(['symbol', 'side', 'price', 'qty', 'ord_type', 'trade_id', 'timestamp']);
      expect(['buy', 'sell']).toContain(t.side);
      expect(['limit', 'market']).toContain(t.ord_type);
      expect(t.timestamp).toMatch(RFC3339_US);
      expect(typeof t.price).toBe('number');
    }
    // Updates in order pick up exactly where the snapshot ended.
    const after: number[] = [];
    while (after.length < 30) {
      const m = await c.nextJson<Msg<KTrade>>((v) => v.channel === 'trade' && v.data![0].symbol === 'BTC/USD');
      after.push(...m.data!.map((t) => t.trade_id));
    }
    const all = [...ids, ...tape.filter((id) => id > ids[49] && id < upd.data![0].trade_id), ...upd.data!.map((t) => t.trade_id), ...after];
    for (let i = 1; i < all.length; i++) expect(all[i]).toBe(all[i - 1] + 1);
  });

  it('writes prices and quantities as plain JSON numbers, never in exponent form', async () => {
    await sim.close();
    await start({ krakenSymbols: ['SHIB/USD', 'BTC/USD'], rate: 2000 });
    const c = await open();
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['SHIB/USD', 'BTC/USD'] } });
    await c.waitFrames(60);
    const frames = c.frames.filter((f) => f.startsWith('{"channel":"trade"'));
    const prices = frames.flatMap((f) => rawNumbers(f, 'price'));
    const qtys = frames.flatMap((f) => rawNumbers(f, 'qty'));
    expect(prices.length).toBeGreaterThan(10);
    for (const n of [...prices, ...qtys]) expect(n).toMatch(/^\d+(\.\d{1,8})?$/);
    // SHIB trades at ~0.00002345: eight decimals that JSON.parse would print as 2.345e-5.
    expect(prices.some((p) => /^0\.0000\d+$/.test(p))).toBe(true);
  });

  it('streams ticker with event_trigger bbo: ack, snapshot, updates with the documented fields', async () => {
    const c = await open();
    c.send({ method: 'subscribe', params: { channel: 'ticker', symbol: ['ETH/USD'], event_trigger: 'bbo' }, req_id: 1 });
    const ack = await c.nextJson<Msg>((m) => m.method === 'subscribe');
    expect(ack.result).toEqual({ channel: 'ticker', event_trigger: 'bbo', snapshot: true, symbol: 'ETH/USD' });
    const snap = await c.nextJson<Msg<Record<string, unknown>>>((m) => m.channel === 'ticker');
    expect(snap.type).toBe('snapshot');
    const upd = await c.nextJson<Msg<Record<string, number | string>>>((m) => m.channel === 'ticker' && m.type === 'update');
    const t = upd.data![0];
    expect(Object.keys(t)).toEqual(['symbol', 'bid', 'bid_qty', 'ask', 'ask_qty', 'last', 'volume', 'vwap', 'low', 'high', 'change', 'change_pct', 'timestamp']);
    expect(t['bid']).toBeLessThan(t['ask'] as number);
    expect(t['low']).toBeLessThanOrEqual(t['high'] as number);
    expect(t['vwap']).toBeGreaterThanOrEqual(t['low'] as number);
    expect(t['vwap']).toBeLessThanOrEqual(t['high'] as number);
    expect(t['timestamp']).toMatch(RFC3339_US);
  });

  it('sends heartbeats only while subscribed, answers ping with pong and handles unsubscribe', async () => {
    const c = await open();
    await sleep(350);
    expect(c.frames.some((f) => f === '{"channel":"heartbeat"}')).toBe(false);
    c.send({ method: 'ping', req_id: 9 });
    const pong = await c.nextJson<Msg>((m) => m.method === 'pong');
    expect(Object.keys(pong)).toEqual(['method', 'req_id', 'time_in', 'time_out']);
    expect(pong.req_id).toBe(9);
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['ETH/USD'] } });
    await c.next((f) => f === '{"channel":"heartbeat"}');
    await c.next((f) => f === '{"channel":"heartbeat"}');
    c.send({ method: 'unsubscribe', params: { channel: 'trade', symbol: ['ETH/USD'] }, req_id: 3 });
    const un = await c.nextJson<Msg>((m) => m.method === 'unsubscribe');
    expect(un.result).toEqual({ channel: 'trade', symbol: 'ETH/USD' });
    expect(un.success).toBe(true);
    const mark = c.frames.length;
    await sleep(400);
    expect(c.frames.slice(mark).filter((f) => f.includes('"channel":"trade"') || f.includes('heartbeat'))).toEqual([]);
  });

  it('rejects unknown pairs, duplicate subscriptions and unknown methods', async () => {
    const c = await open();
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['FOO/BAR'] }, req_id: 1 });
    const e1 = await c.nextJson<Msg>((m) => m.method === 'subscribe');
    expect(e1).toMatchObject({ success: false, symbol: 'FOO/BAR', req_id: 1, error: 'Currency pair not supported FOO/BAR' });
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD'] } });
    await c.nextJson<Msg>((m) => m.method === 'subscribe' && m.success === true);
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD'] } });
    expect(await c.nextJson<Msg>((m) => m.method === 'subscribe')).toMatchObject({ success: false, error: 'Already subscribed' });
    c.send({ method: 'frobnicate', req_id: 5 });
    expect(await c.nextJson<Msg>((m) => m.method === 'frobnicate')).toMatchObject({ success: false, req_id: 5 });
  });

  it('emits legacy XBT/USD names with --kraken-legacy-symbols and accepts either spelling', async () => {
    await sim.close();
    await start({ krakenLegacySymbols: true, krakenSymbols: ['BTC/USD', 'DOGE/USD'] });
    const c = await open();
    c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['XBT/USD', 'DOGE/USD'] } });
    const up = await c.nextJson<Msg<KTrade>>((m) => m.channel === 'trade' && m.type === 'update');
    expect(['XBT/USD', 'XDG/USD']).toContain(up.data![0].symbol);
    expect(Object.keys(sim.state().kraken!.symbols)).toEqual(['BTC/USD', 'DOGE/USD']);
    expect(sim.tradeIds('kraken', 'XBT/USD')).toEqual(sim.tradeIds('kraken', 'BTC/USD'));
  });

  describe('REST /0/public/Trades', () => {
    it('maps pair names to the result key and pages with since=last through exactly the tape', async () => {
      await until('trades', () => (sim.state().kraken!.symbols['BTC/USD'].count >= 40 ? true : undefined));
      sim.pause();
      const tape = sim.tradeIds('kraken', 'BTC/USD').map(Number);
      for (const pair of ['XBTUSD', 'XXBTZUSD', 'BTC/USD', 'XBT/USD', 'btcusd']) {
        const r = await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=${encodeURIComponent(pair)}&count=1`);
        expect(Object.keys(r.body.result)).toEqual(['XXBTZUSD', 'last']);
      }
      const eth = await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=ETHUSD&count=1`);
      expect(Object.keys(eth.body.result)).toEqual(['XETHZUSD', 'last']);
      const got: Array<[string, string, number, string, string, string, number]> = [];
      let since = '0';
      for (;;) {
        const r = await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=XBTUSD&since=${since}&count=7`);
        expect(r.body.error).toEqual([]);
        const rows = r.body.result['XXBTZUSD'] as typeof got;
        if (rows.length === 0) break;
        got.push(...rows);
        since = r.body.result['last'] as string;
        expect(since).toMatch(/^\d{19}$/);
      }
      expect(got.map((r) => r[6])).toEqual(tape);
      for (const r of got) {
        expect(r[0]).toMatch(/^\d+\.\d{5,8}$/);
        expect(r[1]).toMatch(/^\d+\.\d{8}$/);
        expect(['b', 's']).toContain(r[3]);
        expect(['m', 'l']).toContain(r[4]);
        expect(r[5]).toBe('');
      }
      // Raw text of the time column keeps the microseconds.
      const raw = (await getJson(`${rest}/0/public/Trades?pair=XBTUSD&count=1`)).text;
      expect(raw).toMatch(/,\d{10}\.\d{6},"[bs]"/);
      // since in seconds: everything from that second on.
      const firstSec = Math.floor(got[0][2]);
      const bySec = (await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=XBTUSD&since=${firstSec}`)).body.result['XXBTZUSD'] as typeof got;
      expect(bySec[0][6]).toBe(tape[0]);
      // No since: the newest `count`.
      const newest = (await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=XBTUSD&count=3`)).body.result['XXBTZUSD'] as typeof got;
      expect(newest.map((r) => r[6])).toEqual(tape.slice(-3));
    });

    it('prices on REST equal the WebSocket numbers', async () => {
      const c = await open();
      c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['ETH/USD'] } });
      const up = await c.next((f) => f.startsWith('{"channel":"trade","type":"update"'));
      const first = (JSON.parse(up) as Msg<KTrade>).data![0];
      const rows = (await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=ETHUSD`)).body.result['XETHZUSD'] as Array<[string, string, number, string, string, string, number]>;
      const row = rows.find((r) => r[6] === first.trade_id)!;
      expect(Number(row[0])).toBe(Number(rawNumbers(up, 'price')[0]));
      expect(row[1].replace(/0+$/, '').replace(/\.$/, '')).toBe(rawNumbers(up, 'qty')[0]);
      expect(row[3]).toBe(first.side === 'buy' ? 'b' : 's');
    });

    it('reports errors in the error array', async () => {
      expect((await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=NOPE`)).body).toEqual({ error: ['EQuery:Unknown asset pair'] });
      expect((await getJson<TradesResponse>(`${rest}/0/public/Trades`)).body.error).toEqual(['EGeneral:Invalid arguments']);
      expect((await getJson<TradesResponse>(`${rest}/0/public/Trades?pair=XBTUSD&since=abc`)).body.error[0]).toMatch(/^EGeneral:Invalid arguments/);
    });
  });

  describe('faults', () => {
    const subscribed = async (): Promise<TestClient> => {
      const c = await open();
      c.send({ method: 'subscribe', params: { channel: 'trade', symbol: ['BTC/USD'] } });
      await c.nextJson<Msg>((m) => m.method === 'subscribe');
      return c;
    };

    it('gap hides trades from the WebSocket; REST has them', async () => {
      const c = await subscribed();
      const first = JSON.parse(await c.next((f) => f.startsWith('{"channel":"trade"'))) as Msg<KTrade>;
      sim.fault({ exchange: 'kraken', type: 'gap', count: 5, symbol: 'BTC/USD' });
      const ids: number[] = first.data!.map((t) => t.trade_id);
      while (ids.length < 30) {
        const m = await c.nextJson<Msg<KTrade>>((v) => v.channel === 'trade' && v.type === 'update');
        ids.push(...m.data!.map((t) => t.trade_id));
      }
      const holes: number[] = [];
      for (let i = 1; i < ids.length; i++) for (let id = ids[i - 1] + 1; id < ids[i]; id++) holes.push(id);
      expect(holes).toHaveLength(5);
      const tape = new Set(sim.tradeIds('kraken', 'BTC/USD').map(Number));
      for (const h of holes) expect(tape.has(h)).toBe(true);
    });

    it('rotate closes with 1001', async () => {
      const c = await subscribed();
      expect(sim.fault({ exchange: 'kraken', type: 'rotate' }).affected).toBe(1);
      expect((await c.closed).code).toBe(1001);
    });

    it('drop terminates abruptly', async () => {
      const c = await subscribed();
      sim.fault({ exchange: 'kraken', type: 'drop' });
      expect((await c.closed).code).toBe(1006);
    });

    it('stall silences data and heartbeats, then resumes', async () => {
      const c = await subscribed();
      await c.next((f) => f === '{"channel":"heartbeat"}');
      sim.fault({ exchange: 'kraken', type: 'stall', durationMs: 500 });
      await sleep(20);
      const n = c.frames.length;
      c.send({ method: 'ping', req_id: 1 });
      await sleep(400);
      expect(c.frames.length).toBe(n);
      await c.next((f) => f === '{"channel":"heartbeat"}', 2000);
      expect(c.closeInfo).toBeUndefined();
    });

    it('malformed and wrong-type frames', async () => {
      const c = await subscribed();
      sim.fault({ exchange: 'kraken', type: 'malformed', count: 3 });
      sim.fault({ exchange: 'kraken', type: 'wrong-type', count: 6 });
      await until('frames', () => (c.frames.filter((f) => f.includes(`"trade_id":${WRONG_TYPE_ID_BASE + 5}`)).length > 0 ? true : undefined));
      let bad = 0;
      for (const f of c.frames) {
        try {
          JSON.parse(f);
        } catch {
          bad++;
        }
      }
      expect(bad).toBe(3);
      const wrong = c.frames.filter((f) => /"trade_id":9\d{14}/.test(f)).map((f) => (JSON.parse(f) as Msg<Record<string, unknown>>).data![0]);
      expect(wrong.map((t) => [typeof t['price'], t['qty'], typeof t['timestamp']])).toEqual([
        ['boolean', 0.5, 'string'],
        ['object', 0.5, 'string'],
        ['number', -0.5, 'string'],
        ['undefined', 0.5, 'string'],
        ['number', 'abc', 'string'],
        ['number', 0.5, 'number'],
      ]);
    });

    it('reject-connections answers upgrades with 503', async () => {
      sim.fault({ exchange: 'kraken', type: 'reject-connections', durationMs: 200 });
      await expect(TestClient.open(ws)).rejects.toThrow('HTTP 503');
      await sleep(250);
      await open();
    });
  });
});
