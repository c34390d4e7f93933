/**
 * Lossless JSON parser throughput on one core, next to JSON.parse on the same frames.
 * Run: npx tsx --tsconfig tsconfig.base.json tools/bench/src/json.bench.ts
 * Goal (streamer issue): the parser must leave room for >= 100k trades/s per process, so it should parse a
 * Kraken trade frame well above that rate.
 */
import { parseLosslessJson } from '@k2/core';
import { benchCli } from './cli';

benchCli('json');

const N = Number(process.env['BENCH_MESSAGES'] ?? 500_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);

// Shapes of Kraken WS v2 frames (docs.kraken.com, "Trade", "Ticker", "Status"), values varied per message.
function krakenTrade(i: number): string {
  return (
    `{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"${i % 2 ? 'buy' : 'sell'}",` +
    `"price":${65000 + (i % 997)}.${String(12345678 - (i % 1000)).padStart(8, '0')},"qty":0.000${String(12345 + (i % 5000))},` +
    `"ord_type":"limit","trade_id":${110386729 + i},"timestamp":"2026-10-06T18:14:44.${String(100000 + (i % 900000))}Z"}]}`
  );
}
function krakenTicker(i: number): string {
  return (
    `{"channel":"ticker","type":"update","data":[{"symbol":"ALGO/USD","bid":0.10025,"bid_qty":${740 + i % 13}.0,"ask":0.10036,` +
    `"ask_qty":1361.44813783,"last":0.10035,"volume":997038.98383185,"vwap":0.10148,"low":0.09979,"high":0.10285,` +
    `"change":-0.00017,"change_pct":-0.17,"timestamp":"2023-09-25T09:04:31.742648Z"}]}`
  );
}
function binanceTrade(i: number): string {
  return (
    `{"e":"trade","E":${1672515782136000 + i},"s":"BTCUSDT","t":${4000000000 + i},"p":"97${String(i % 1000).padStart(3, '0')}.12000000",` +
    `"q":"0.00${String(100 + (i % 900))}000","T":${1672515782136000 + i},"m":${i % 2 === 0},"M":true}`
  );
}

function rate(n: number, ns: bigint): number {
  return Math.round(n / (Number(ns) / 1e9));
}

function bench(name: string, frames: string[], parse: (s: string) => unknown): { median: number; best: number; mbps: number } {
  const bytes = frames.reduce((s, f) => s + f.length, 0) / frames.length;
  // Warm-up so the JIT has settled before timing.
  for (let i = 0; i < 50_000; i++) parse(frames[i % frames.length] as string);
  const rates: number[] = [];
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += parse(frames[i % frames.length] as string) === null ? 1 : 0;
    rates.push(rate(N, process.hrtime.bigint() - t0));
  }
  if (sink !== 0) throw new Error(`${name}: unexpected null`);
  const sorted = [...rates].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  return { median, best: sorted[sorted.length - 1] ?? 0, mbps: (median * bytes) / 1e6 };
}

function main(): void {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const sets: Array<[string, string[]]> = [
    ['kraken trade (1 trade)', Array.from({ length: 10_000 }, (_, i) => krakenTrade(i))],
    ['kraken ticker (bbo)', Array.from({ length: 10_000 }, (_, i) => krakenTicker(i))],
    ['binance @trade', Array.from({ length: 10_000 }, (_, i) => binanceTrade(i))],
  ];
  console.log(`json bench: ${fmt(N)} messages x ${ROUNDS} rounds per case, node ${process.version}`);
  for (const [name, frames] of sets) {
    const lossless = bench(name, frames, parseLosslessJson);
    const native = bench(name, frames, JSON.parse);
    const size = Math.round(frames.reduce((s, f) => s + f.length, 0) / frames.length);
    console.log(
      `  ${name.padEnd(24)} (${size} B): parseLosslessJson msgs/s median ${fmt(lossless.median)}, best ${fmt(lossless.best)} ` +
        `(${lossless.mbps.toFixed(0)} MB/s) | JSON.parse median ${fmt(native.median)} (goal >= 100,000)`,
    );
  }
}

main();
