/**
 * Exchange mapper throughput on one core: raw frame text → V2 record (parse, validate, decimals, message_id).
 * Run: npx tsx --tsconfig tsconfig.base.json tools/bench/src/mappers.bench.ts
 * Goal (streamer issue): >= 100k msgs/s per core for mapBinanceMessage on @trade frames.
 */
import { mapBinanceMessage } from '@k2/binance';
import { mapKrakenMessage } from '@k2/kraken';
import { benchCli } from './cli';

benchCli('mappers');

const N = Number(process.env['BENCH_MESSAGES'] ?? 300_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const POOL = 10_000;

// Frames shaped like the documented payloads (web-socket-streams.md; docs.kraken.com websocket-v2), values varied.
const price = (i: number) => `${97000 + (i % 997)}.${String(10 + (i % 89)).padEnd(8, '0')}`;
const qty = (i: number) => `0.00${String(100 + (i % 899))}${String(i % 1000).padStart(3, '0')}`;

const binanceTrade = (i: number) =>
  `{"e":"trade","E":${1763900000000 + i},"s":"BTCUSDT","t":${4000000000 + i},"p":"${price(i)}","q":"${qty(i)}","T":${1763900000000 + i},"m":${i % 2 === 0},"M":true}`;
const binanceTradeCombinedUs = (i: number) =>
  `{"stream":"btcusdt@trade","data":{"e":"trade","E":${1763900000000123 + i},"s":"BTCUSDT","t":${4000000000 + i},"p":"${price(i)}","q":"${qty(i)}","T":${1763900000000100 + i},"m":${i % 2 === 0},"M":true}}`;
const binanceAgg = (i: number) =>
  `{"e":"aggTrade","E":${1763900000000 + i},"s":"BTCUSDT","a":${3000000000 + i},"p":"${price(i)}","q":"${qty(i)}","f":${4000000000 + 2 * i},"l":${4000000001 + 2 * i},"T":${1763900000000 + i},"m":${i % 2 === 0},"M":true}`;
const binanceBook = (i: number) =>
  `{"u":${60000000000 + i},"s":"BTCUSDT","b":"${price(i)}","B":"${qty(i)}","a":"${price(i + 1)}","A":"${qty(i + 7)}"}`;
const krakenTrade = (i: number) =>
  `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"${i % 2 ? 'buy' : 'sell'}","price":${price(i)},"qty":${qty(i)},` +
  `"ord_type":"limit","trade_id":${110386729 + i},"timestamp":"2026-10-06T18:14:44.${String(100000 + (i % 900000))}Z"}]}`;
const krakenTicker = (i: number) =>
  `{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":${price(i)},"bid_qty":${qty(i)},"ask":${price(i + 1)},"ask_qty":${qty(i + 3)},` +
  `"last":${price(i)},"volume":997038.98383185,"vwap":97148.1,"low":96979.5,"high":98285.2,"change":-17.5,"change_pct":-0.17,` +
  `"timestamp":"2026-10-06T18:14:44.${String(100000 + (i % 900000))}Z"}]}`;

function bench(frames: string[], map: (raw: string) => unknown): { median: number; best: number } {
  for (let i = 0; i < 30_000; i++) map(frames[i % frames.length] as string);
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += map(frames[i % frames.length] as string) === undefined ? 1 : 0;
    rates.push(Math.round(N / (Number(process.hrtime.bigint() - t0) / 1e9)));
  }
  if (sink !== 0) throw new Error('unexpected undefined');
  const sorted = [...rates].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)] ?? 0, best: sorted[sorted.length - 1] ?? 0 };
}

function main(): void {
  const fmt = (n: number) => n.toLocaleString('en-US');
  let received = 1763900000001000n;
  const ctx = () => ({ receivedAtMicros: received++ });
  const cases: Array<[string, (i: number) => string, (raw: string) => unknown, number | undefined]> = [
    ['binance @trade (ms)', binanceTrade, (r) => mapBinanceMessage(r, ctx()), 100_000],
    ['binance @trade combined µs', binanceTradeCombinedUs, (r) => mapBinanceMessage(r, ctx()), 100_000],
    ['binance @aggTrade', binanceAgg, (r) => mapBinanceMessage(r, ctx()), undefined],
    ['binance @bookTicker', binanceBook, (r) => mapBinanceMessage(r, ctx()), undefined],
    ['kraken trade (1 per frame)', krakenTrade, (r) => mapKrakenMessage(r, ctx()), undefined],
    ['kraken ticker (bbo)', krakenTicker, (r) => mapKrakenMessage(r, ctx()), undefined],
  ];
  console.log(`mappers bench: ${fmt(N)} frames x ${ROUNDS} rounds per case, one core, node ${process.version}`);
  for (const [name, gen, map, goal] of cases) {
    const frames = Array.from({ length: POOL }, (_, i) => gen(i));
    const r = bench(frames, map);
    const verdict = goal === undefined ? '' : ` (goal >= ${fmt(goal)}: ${r.median >= goal ? 'met' : 'NOT met'})`;
    console.log(`  ${name.padEnd(28)} msgs/s median ${fmt(r.median).padStart(9)}, best ${fmt(r.best).padStart(9)}${verdict}`);
  }
}

main();
