import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { openApiDocument } from '../openapi';
import { InvalidParameterError, parseReplayRequest } from '../params';
import { TailStore, type TailRow } from '../tail-store';
import { decodeReplayCursor, encodeReplayCursor, historyCursor, liveCursor } from './cursor';
import { arraySource, AscendingMerge, type PagedSource, type ReplayItem } from './merge';
import { tablePages } from './table-pages';
import { ReplayWriter } from './writer';

const item = (ts: number, id: string, kind: 'trades' | 'quotes' = 'trades'): ReplayItem => ({ kind, rec: { message_id: id, timestamp: BigInt(ts) }, ts: BigInt(ts), id });

/** A paged source over a sorted array, `size` items per page, like the table's keyset pages. */
function pages(items: ReplayItem[], size: number): PagedSource & { calls: number } {
  let at = 0;
  const src = {
    calls: 0,
    next: () => {
      src.calls++;
      const page = items.slice(at, at + size);
      at += size;
      return Promise.resolve(page);
    },
  };
  return src;
}

async function drain(m: AscendingMerge, max = 3): Promise<string[]> {
  const out: string[] = [];
  for (let b = await m.next(max); b.length > 0; b = await m.next(max)) out.push(...b.map((x) => `${x.ts}:${x.id}`));
  return out;
}

describe('replay cursor', () => {
  it('round-trips history and live positions, ids above 2^53 and every partition exactly', () => {
    const h = historyCursor(1_763_856_000_123_456n, '0f8c0a4e-2b1d-5c6e-9f00-0123456789ab');
    expect(h).toBe('h_1763856000123456_0f8c0a4e-2b1d-5c6e-9f00-0123456789ab');
    expect(decodeReplayCursor(h)).toEqual({ phase: 'history', ts: 1_763_856_000_123_456n, id: '0f8c0a4e-2b1d-5c6e-9f00-0123456789ab' });
    const offsets = new Map([
      ['market.crypto.trades.binance/0', 0],
      ['market.crypto.trades.binance/11', 2 ** 53 - 1],
      ['market.equities.quotes.asx/3', 42],
    ]);
    const l = liveCursor(offsets);
    expect(l).toMatch(/^l_[A-Za-z0-9_-]+$/);
    const back = decodeReplayCursor(l);
    expect(back.phase).toBe('live');
    expect(back.phase === 'live' && [...back.offsets]).toEqual([...offsets]);
    expect(encodeReplayCursor(back)).toBe(l);
  });

  it.each([
    ['empty', ''],
    ['unknown prefix', 'x_1_a'],
    ['id with an underscore', 'h_1_a_b'],
    ['time beyond 9999', 'h_99999999999999999999_a'],
    ['live not JSON', 'l_bm90IGpzb24'],
    ['live array', `l_${Buffer.from('[1]').toString('base64url')}`],
    ['negative offset', `l_${Buffer.from('{"t/0":-1}').toString('base64url')}`],
    ['fractional offset', `l_${Buffer.from('{"t/0":1.5}').toString('base64url')}`],
    ['bad partition key', `l_${Buffer.from('{"t":1}').toString('base64url')}`],
  ])('rejects a cursor it did not issue: %s', (_name, text) => {
    expect(() => decodeReplayCursor(text)).toThrow(InvalidParameterError);
  });
});

describe('AscendingMerge', () => {
  it('merges paged sources by (timestamp, message_id), ties by id, across page boundaries', async () => {
    const trades = pages([item(1, 'a'), item(3, 'a'), item(3, 'c'), item(7, 'a'), item(9, 'z')], 2);
    const quotes = pages([item(2, 'q', 'quotes'), item(3, 'b', 'quotes'), item(8, 'q', 'quotes')], 2);
    const tail = arraySource([item(10, 'x'), item(4, 'x')]);
    expect(await drain(new AscendingMerge([trades, quotes, tail]))).toEqual(['1:a', '2:q', '3:a', '3:b', '3:c', '4:x', '7:a', '8:q', '9:z', '10:x']);
  });

  it('drops a record the table and the tail both hold (same key), and everything up to a resume position', async () => {
    const table = pages([item(1, 'a'), item(2, 'b'), item(3, 'c')], 10);
    const tail = arraySource([item(2, 'b'), item(3, 'c'), item(4, 'd')]);
    expect(await drain(new AscendingMerge([table, tail]))).toEqual(['1:a', '2:b', '3:c', '4:d']);
    const again = new AscendingMerge([pages([item(1, 'a'), item(2, 'b'), item(2, 'c')], 10), arraySource([item(2, 'b')])], { ts: 2n, id: 'b' });
    expect(await drain(again)).toEqual(['2:c']);
  });

  it('returns what is ready before it waits on the next page, and asks a finished source no more', async () => {
    const a = pages([item(1, 'a'), item(5, 'a')], 1);
    const m = new AscendingMerge([a, arraySource([item(2, 'b'), item(3, 'b')])]);
    expect((await m.next(100)).map((x) => x.id)).toEqual(['a']);
    expect(await drain(m, 100)).toEqual(['2:b', '3:b', '5:a']);
    const calls = a.calls;
    expect(await m.next(10)).toEqual([]);
    expect(a.calls).toBe(calls);
  });
});

describe('parseReplayRequest', () => {
  const base = { start: '2026-11-23T00:00:00Z' };
  it('reads symbols, types, speed, format and takes the cursor from Last-Event-ID when the query has none', () => {
    const r = parseReplayRequest({ ...base, symbols: 'btcusdt, BHP,BTCUSDT', types: 'quotes', speed: '10', format: 'sse' }, 'h_1_a');
    expect(r).toMatchObject({ symbols: ['BTCUSDT', 'BHP'], types: ['quotes'], speed: 10, format: 'sse', cursor: 'h_1_a', endUs: undefined });
    expect(parseReplayRequest({ ...base, cursor: 'h_2_b' }, 'h_1_a').cursor).toBe('h_2_b');
    expect(parseReplayRequest(base, undefined)).toMatchObject({ symbols: undefined, types: ['trades', 'quotes'], speed: 'max' });
    expect(() => parseReplayRequest({ ...base, speed: '0' }, undefined)).toThrow('speed: must be 1, 10 or max');
  });

  it('is described in the OpenAPI document with its parameters', () => {
    const op = (openApiDocument('t')['paths'] as Record<string, { get: { parameters: Array<{ name: string }> } }>)['/v1/replay'];
    expect(op.get.parameters.map((p) => p.name)).toEqual(['symbols', 'exchange', 'asset_class', 'types', 'start', 'end', 'speed', 'format', 'cursor']);
  });

  it.each([
    ['no start', {}, 'start'],
    ['end before start', { ...base, end: '2026-11-22T00:00:00Z' }, 'end'],
    ['bad type', { ...base, types: 'bars' }, 'types'],
    ['bad speed', { ...base, speed: '2' }, 'speed'],
    ['bad symbol', { ...base, symbols: 'BTC USD' }, 'symbols'],
    ['unknown parameter', { ...base, limit: '5' }, 'limit'],
  ])('rejects %s', (_n, q, parameter) => {
    expect(() => parseReplayRequest(q, undefined)).toThrow(expect.objectContaining({ parameter }));
  });
});

describe('TailStore.positions', () => {
  it('is one past the newest offset added per partition, and survives eviction by a snapshot', () => {
    const s = new TailStore({ maxRecords: 100 });
    const row = (tp: string, offset: number, id: string): TailRow => ({ tp, offset, rec: {}, ts: 1n, id, symbol: 'X', exchange: 'E' });
    s.add('trades', row('t/0', 5, 'a'));
    s.add('trades', row('t/0', 6, 'b'));
    s.add('trades', row('t/1', 0, 'c'));
    s.evictCommitted('trades', new Map([['t/0', 7]]));
    expect([...s.positions('trades')]).toEqual([
      ['t/0', 7],
      ['t/1', 1],
    ]);
    expect(s.positions('quotes').size).toBe(0);
  });
});

describe('ReplayWriter', () => {
  let server: Server;
  let url: string;
  let onRequest: (w: ReplayWriter) => Promise<void>;
  beforeAll(async () => {
    const app = express();
    app.get('/:format/:speed', (req, res) => {
      const w = new ReplayWriter(res, req.params['format'] as 'sse', req.params['speed'] === 'max' ? 'max' : 10);
      w.start();
      void onRequest(w).finally(() => w.end());
    });
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('frames NDJSON and SSE with the position as id, decimals as text', async () => {
    onRequest = async (w) => {
      await w.history([{ kind: 'trades', rec: { message_id: 'm1', timestamp: 1_000_000n, price: '0.00000001' }, ts: 1_000_000n, id: 'm1' }]);
      await w.control('handover', { offsets: { 't/0': 3 } }, liveCursor(new Map([['t/0', 3]])));
    };
    const nd = (await (await fetch(`${url}/ndjson/max`)).text()).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(nd[0]).toEqual({ type: 'trade', id: 'h_1000000_m1', data: { message_id: 'm1', timestamp: '1970-01-01T00:00:01.000000Z', price: '0.00000001' } });
    expect(nd[1]).toMatchObject({ type: 'control', event: 'handover', offsets: { 't/0': 3 } });
    const sse = await (await fetch(`${url}/sse/max`)).text();
    expect(sse).toContain('id: h_1000000_m1\nevent: trade\ndata: {"message_id":"m1"');
    expect(sse).toMatch(/id: l_[A-Za-z0-9_-]+\nevent: handover\ndata: \{"offsets":\{"t\/0":3\}\}\n\n$/);
  });

  it('paces by event time over the speed, with each gap capped', async () => {
    // Gaps of 1 s and 1 h at speed 10: 100 ms + the 1 s cap.
    const items = [0, 1_000_000, 3_601_000_000].map((t, i) => ({ kind: 'trades' as const, rec: { timestamp: BigInt(t) }, ts: BigInt(t), id: `i${i}` }));
    onRequest = (w) => w.history(items);
    const t0 = Date.now();
    const body = await (await fetch(`${url}/ndjson/10`)).text();
    const ms = Date.now() - t0;
    expect(body.trim().split('\n')).toHaveLength(3);
    expect(ms).toBeGreaterThanOrEqual(1050);
    expect(ms).toBeLessThan(3000);
  });

  it('waits for a slow reader instead of buffering (backpressure)', async () => {
    let written = 0;
    let release!: () => void;
    const paused = new Promise<void>((r) => (release = r));
    const big = 'x'.repeat(1000);
    onRequest = async (w) => {
      for (let i = 0; i < 20_000 && !w.closed; i++) {
        await w.history([{ kind: 'trades', rec: { pad: big }, ts: BigInt(i), id: `i${i}` }]);
        written = i + 1;
      }
    };
    const res = await fetch(`${url}/ndjson/max`);
    const reader = res.body!.getReader();
    await reader.read();
    setTimeout(release, 500);
    await paused;
    // 20,000 events of ~1 kB are 20 MB: a writer that ignored backpressure would have framed them all by now.
    expect(written).toBeLessThan(10_000);
    let n = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) n += r.value.length;
    expect(n).toBeGreaterThan(10_000_000);
    expect(written).toBe(20_000);
  });
});

describe('tablePages', () => {
  /** The table's side of replayPage over sorted rows: the same bounds and keyset as SQL.replayTrades. */
  function table(rows: Array<[number, string]>) {
    const calls: Array<{ startUs: bigint; endUs: bigint }> = [];
    return {
      calls,
      replayPage: (_k: unknown, _s: unknown, p: { startUs: bigint; endUs: bigint; after: { ts: bigint; id: string } | undefined; limit: number }) => {
        calls.push({ startUs: p.startUs, endUs: p.endUs });
        const hit = rows
          .filter(([t, id]) => BigInt(t) >= p.startUs && BigInt(t) < p.endUs && (!p.after || BigInt(t) > p.after.ts || (BigInt(t) === p.after.ts && id > p.after.id)))
          .slice(0, p.limit);
        return Promise.resolve({ ts: hit.map(([t]) => BigInt(t)), id: hit.map(([, id]) => id), json: hit.map(([t, id]) => `{"t":${t},"id":"${id}"}`) });
      },
    };
  }

  async function all(src: PagedSource): Promise<string[]> {
    const out: string[] = [];
    for (let p = await src.next(); p.length > 0; p = await src.next()) out.push(...p.map((x) => `${x.ts}:${x.id}`));
    return out;
  }

  // A burst of equal timestamps larger than a page, a quiet hour, and rows at both window edges.
  const rows: Array<[number, string]> = [[0, 'a']];
  for (let i = 0; i < 25; i++) rows.push([1_000_000, `b${String(i).padStart(2, '0')}`]);
  for (let i = 0; i < 40; i++) rows.push([2_000_000 + i * 7_000_000, `c${i}`]);
  rows.push([3_600_000_000, 'd'], [7_199_999_999, 'e'], [7_200_000_000, 'outside']);
  const expected = rows.filter(([t]) => t < 7_200_000_000).map(([t, id]) => `${t}:${id}`);

  it('returns every row of the window once, in order, through full pages, bursts and empty slices', async () => {
    const t = table(rows);
    const src = tablePages({ kind: 'trades', state: {} as never, service: t, req: { symbols: undefined, exchange: undefined, assetClass: undefined, startUs: 0n, endUs: 7_200_000_000n, after: undefined }, limit: 10, sliceUs: 1_000_000n });
    expect(await all(src)).toEqual(expected);
    // Slices adapt: far fewer calls than one per initial slice of the two-hour window.
    expect(t.calls.length).toBeLessThan(60);
  });

  it('resumes after a position inside a burst', async () => {
    const t = table(rows);
    const src = tablePages({ kind: 'trades', state: {} as never, service: t, req: { symbols: undefined, exchange: undefined, assetClass: undefined, startUs: 0n, endUs: 7_200_000_000n, after: { ts: 1_000_000n, id: 'b11' } }, limit: 4 });
    expect(await all(src)).toEqual(expected.slice(expected.indexOf('1000000:b11') + 1));
  });
});
