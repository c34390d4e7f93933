/**
 * npm run bench:serde — V2 trade encode/decode throughput including Confluent framing, on one core, through the
 * schema id registered in the real local registry (started if it is not running), next to its limit measured in
 * the same rounds: plain avsc `toBuffer`/`fromBuffer` of the same record (no framing, no logical types, so no
 * decimal validation; the record in plain avsc's own representation).
 * Goal (issue 20): encode and decode each >= 0.8x plain avsc. Ends with one `BENCH {json}` line.
 */
import * as avro from 'avsc';
import { parseDecimal } from '@k2/decimal';
import { topicName } from '@k2/kafka';
import { messageId, V2_SCHEMAS, type TradeV2 } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { infraEndpoints, infraUp, sampleTrades } from '@k2/testing';
import { benchCli } from './cli';
import { atLeast, benchLine } from './limits';

benchCli('serde');

const N = Number(process.env['BENCH_RECORDS'] ?? 1_000_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);

function makeTrades(count: number): TradeV2[] {
  const base = sampleTrades()[0]!;
  const out: TradeV2[] = [];
  let price = 97000;
  for (let i = 0; i < count; i++) {
    price += (i % 7) - 3 + (i % 13) / 100;
    const id = String(4_000_000_000 + i);
    out.push({
      ...base,
      message_id: messageId('BINANCE', 'BTCUSDT', id),
      trade_id: id,
      symbol: 'BTCUSDT',
      currency: 'USDT',
      timestamp: 1763900000000000n + BigInt(i * 137),
      ingestion_timestamp: 1763900000000500n + BigInt(i * 137),
      price: parseDecimal('price', price.toFixed(2), 'price'),
      quantity: parseDecimal('quantity', `0.${String(1 + (i % 99999)).padStart(5, '0')}`, 'quantity'),
      side: i % 2 ? 'BUY' : 'SELL',
      source_sequence: BigInt(id),
      platform_sequence: BigInt(i + 1),
      vendor_data: { event_type: 'trade', event_time: String(1763900000000 + i), is_buyer_maker: i % 2 ? 'false' : 'true' },
    });
  }
  return out;
}

function rate(n: number, ns: bigint): number {
  return Math.round(n / (Number(ns) / 1e9));
}

async function main(): Promise<void> {
  infraUp();
  const ep = infraEndpoints();
  const serde = new AvroSerde({ registryUrl: ep.registryUrl });
  // Only a registry subject, no topic: named after a scratch topic (k2bench…) that no platform subscription names.
  const id = await serde.registerV2(topicName({ assetClass: 'crypto', dataType: 'trades', exchange: 'k2benchserde' }), 'trades');
  const sample = makeTrades(Math.min(N, 100_000));
  const encoded = sample.map((t) => serde.encode(id, t));
  const bytes = encoded.reduce((s, b) => s + b.length, 0) / encoded.length;

  // The codec limit: avsc with no logical types on the same bytes (decimals as their two's-complement bytes,
  // longs as numbers), so it neither validates nor converts anything.
  const plainType = avro.Type.forSchema(V2_SCHEMAS.trades as avro.Schema, { wrapUnions: false });
  const plainSample = encoded.map((b) => plainType.fromBuffer(b.subarray(5)) as unknown);
  const plainEncoded = plainSample.map((r) => plainType.toBuffer(r));

  const rates = { encode: [] as number[], decode: [] as number[], plainEncode: [] as number[], plainDecode: [] as number[] };
  let sink = 0;
  // Each side runs in slices of SLICE records, alternating with its limit, and a round's rate sums its slices: the
  // neighbours' load (2 shared cores) changes within a second, so a ratio is only fair between interleaved slices.
  const SLICE = 10_000;
  const pair = (outA: number[], a: (i: number) => number, outB: number[], b: (i: number) => number) => {
    let nsA = 0n;
    let nsB = 0n;
    for (let done = 0; done < N; done += SLICE) {
      const n = Math.min(SLICE, N - done);
      let t0 = process.hrtime.bigint();
      for (let i = done; i < done + n; i++) sink += a(i);
      nsA += process.hrtime.bigint() - t0;
      t0 = process.hrtime.bigint();
      for (let i = done; i < done + n; i++) sink += b(i);
      nsB += process.hrtime.bigint() - t0;
    }
    outA.push(rate(N, nsA));
    outB.push(rate(N, nsB));
  };
  for (let r = 0; r < ROUNDS; r++) {
    pair(
      rates.plainEncode,
      (i) => plainType.toBuffer(plainSample[i % plainSample.length]).length,
      rates.encode,
      (i) => serde.encode(id, sample[i % sample.length]!).length,
    );
    pair(
      rates.plainDecode,
      (i) => (plainType.fromBuffer(plainEncoded[i % plainEncoded.length]!) as { trade_id: string }).trade_id.length,
      rates.decode,
      (i) => serde.decodeLoaded<TradeV2>(encoded[i % encoded.length]!).price.length,
    );
  }
  if (sink === 0) throw new Error('unreachable');
  const best = (xs: number[]) => Math.max(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (n: number) => n.toLocaleString('en-US');
  const encodeRatio = median(rates.encode) / median(rates.plainEncode);
  const decodeRatio = median(rates.decode) / median(rates.plainDecode);
  console.log(`serde bench: V2 trade, Confluent framing, schema id ${id}, ${fmt(N)} records x ${ROUNDS} rounds, node ${process.version}`);
  console.log(`  avg message size : ${bytes.toFixed(1)} bytes`);
  console.log(`  encode records/s : median ${fmt(median(rates.encode))}, best ${fmt(best(rates.encode))}`);
  console.log(`  decode records/s : median ${fmt(median(rates.decode))}, best ${fmt(best(rates.decode))}`);
  console.log(`  plain avsc limit : toBuffer median ${fmt(median(rates.plainEncode))}/s, fromBuffer median ${fmt(median(rates.plainDecode))}/s`);
  console.log(`  ratios           : encode ${encodeRatio.toFixed(2)}x, decode ${decodeRatio.toFixed(2)}x of plain avsc (goal >= 0.8x each)`);
  const goals = [atLeast('encode_vs_plain_avsc', encodeRatio, 0.8), atLeast('decode_vs_plain_avsc', decodeRatio, 0.8)];
  console.log(
    benchLine(
      'serde',
      { records: N, rounds: ROUNDS, avg_message_bytes: Number(bytes.toFixed(1)), encode_per_s: median(rates.encode), decode_per_s: median(rates.decode), encode_best_per_s: best(rates.encode), decode_best_per_s: best(rates.decode) },
      { plain_avsc_encode_per_s: median(rates.plainEncode), plain_avsc_decode_per_s: median(rates.plainDecode) },
      { encode_vs_plain_avsc: encodeRatio, decode_vs_plain_avsc: decodeRatio },
      goals,
    ),
  );
}

main().catch((err) => {
  console.error(`bench:serde failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
