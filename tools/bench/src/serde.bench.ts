/**
 * npm run bench:serde — V2 trade encode/decode throughput including Confluent framing, on one core, through the
 * schema id registered in the real local registry (started if it is not running).
 * Goal (Foundation issue): >= 500k encodes/s and >= 800k decodes/s.
 */
import { parseDecimal } from '@k2/decimal';
import { topicName } from '@k2/kafka';
import { messageId, type TradeV2 } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { infraEndpoints, infraUp, sampleTrades } from '@k2/testing';
import { benchCli } from './cli';

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

  const encodeRates: number[] = [];
  const decodeRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let t0 = process.hrtime.bigint();
    let sink = 0;
    for (let i = 0; i < N; i++) sink += serde.encode(id, sample[i % sample.length]!).length;
    encodeRates.push(rate(N, process.hrtime.bigint() - t0));
    t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += (serde.decodeLoaded<TradeV2>(encoded[i % encoded.length]!).price.length);
    decodeRates.push(rate(N, process.hrtime.bigint() - t0));
    if (sink === 0) throw new Error('unreachable');
  }
  const best = (xs: number[]) => Math.max(...xs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const fmt = (n: number) => n.toLocaleString('en-US');
  console.log(`serde bench: V2 trade, Confluent framing, schema id ${id}, ${fmt(N)} records x ${ROUNDS} rounds, node ${process.version}`);
  console.log(`  avg message size : ${bytes.toFixed(1)} bytes`);
  console.log(`  encode records/s : median ${fmt(median(encodeRates))}, best ${fmt(best(encodeRates))} (goal >= 500,000)`);
  console.log(`  decode records/s : median ${fmt(median(decodeRates))}, best ${fmt(best(decodeRates))} (goal >= 800,000)`);
}

main().catch((err) => {
  console.error(`bench:serde failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
