import fs from 'node:fs';
import path from 'node:path';
import { messageId, type QuoteV2, type TradeV2 } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import { infraEndpoints, readTopicFrom, repoRoot } from '@k2/testing';
import { BINANCE_SYMBOLS, KRAKEN_RECORD_SYMBOLS, KRAKEN_SYMBOLS, type Platform } from './platform';

/** Message ids that must end up in the tables and the API, per `EXCHANGE:SYMBOL`. */
export interface Expected {
  trades: Map<string, string[]>;
  quotes: Map<string, string[]>;
}

export const all = (m: Map<string, string[]>): string[] => [...m.values()].flat();

/**
 * The ASX sample's ids computed from the files themselves, independently of the loader: one row per line, id
 * `messageId('ASX', symbol, '<company_id>:<file>:<line>', kind)` (docs/asx-loader.md, "How ids stay stable"), symbols from
 * reference-data/company_info.csv.
 */
export function asxExpected(sampleDir = path.join(repoRoot(), 'data', 'asx-sample')): Expected {
  const symbols = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(sampleDir, 'reference-data', 'company_info.csv'), 'utf8').split(/\r?\n/).slice(1)) {
    const [id, symbol] = line.split(',');
    if (id && symbol) symbols.set(id, symbol);
  }
  const out: Expected = { trades: new Map(), quotes: new Map() };
  for (const [kind, dir, key] of [['trade', 'trades', 'trades'], ['quote', 'quotes', 'quotes']] as const) {
    for (const file of fs.readdirSync(path.join(sampleDir, dir)).filter((f) => f.endsWith('.csv')).sort()) {
      const company = file.replace(/\.csv$/, '');
      const symbol = symbols.get(company);
      if (!symbol) throw new Error(`${dir}/${file}: company ${company} is not in company_info.csv`);
      const lines = fs.readFileSync(path.join(sampleDir, dir, file), 'utf8').split('\r\n').filter(Boolean).length;
      const ids = Array.from({ length: lines }, (_, i) => messageId('ASX', symbol, `${company}:${dir}/${file}:${i + 1}`, kind));
      out[key].set(`ASX:${symbol}`, ids);
    }
  }
  return out;
}

export interface CryptoTruth extends Expected {
  /** Simulator trades owed but absent from Kafka, per symbol (must be none once the run has drained). */
  missingInKafka: Record<string, number>;
  /** Trade records of this run in Kafka beyond the first copy (replays; downstream dedups them by message_id). */
  kafkaTradeCopies: number;
  kafkaQuoteCopies: number;
}

const { kafkaBrokers, registryUrl } = infraEndpoints();
const serde = new AvroSerde({ registryUrl });

/**
 * Trades: the simulator's tape (every trade it generated, whatever the WebSocket showed) from the first trade the
 * streamer published in this run — trades generated before a streamer's first connection, with no resume point in
 * the topic, are history rather than loss. Quotes carry no tape: the truth is every distinct quote id this run
 * published to Kafka.
 */
export async function cryptoTruth(p: Platform): Promise<CryptoTruth> {
  const out: CryptoTruth = { trades: new Map(), quotes: new Map(), missingInKafka: {}, kafkaTradeCopies: 0, kafkaQuoteCopies: 0 };
  const feeds = [
    { exchange: 'binance' as const, symbols: BINANCE_SYMBOLS, records: BINANCE_SYMBOLS },
    { exchange: 'kraken' as const, symbols: KRAKEN_SYMBOLS, records: KRAKEN_RECORD_SYMBOLS },
  ];
  const startId = BigInt(p.startId);
  for (const f of feeds) {
    const EX = f.exchange.toUpperCase();
    const seen = new Map<string, Map<bigint, number>>(f.records.map((s) => [s, new Map()]));
    const topic = p.topics[f.exchange].trades;
    for (const m of await readTopicFrom(kafkaBrokers, topic, p.from.get(topic))) {
      if (!m.value) continue;
      const t = await serde.decode<TradeV2>(m.value);
      const id = BigInt(t.trade_id);
      const ids = seen.get(t.symbol);
      if (t.exchange !== EX || !ids || id < startId) continue;
      ids.set(id, (ids.get(id) ?? 0) + 1);
    }
    for (let i = 0; i < f.symbols.length; i++) {
      const symbol = f.records[i] as string;
      const tape = (await p.sim.tradeIds(f.exchange, f.symbols[i] as string)).map(BigInt);
      const got = seen.get(symbol) as Map<bigint, number>;
      const first = [...got.keys()].reduce<bigint | undefined>((a, b) => (a === undefined || b < a ? b : a), undefined);
      const owed = first === undefined ? tape : tape.filter((id) => id >= first);
      out.trades.set(`${EX}:${symbol}`, owed.map((id) => messageId(EX, symbol, id.toString())));
      out.missingInKafka[`${EX}:${symbol}`] = owed.filter((id) => !got.has(id)).length;
      for (const n of got.values()) out.kafkaTradeCopies += n - 1;
    }
    const quotes = new Map<string, Map<string, number>>(f.records.map((s) => [s, new Map()]));
    const qtopic = p.topics[f.exchange].quotes;
    for (const m of await readTopicFrom(kafkaBrokers, qtopic, p.from.get(qtopic))) {
      if (!m.value) continue;
      const q = await serde.decode<QuoteV2>(m.value);
      const ids = quotes.get(q.symbol);
      if (q.exchange !== EX || !ids) continue;
      ids.set(q.message_id, (ids.get(q.message_id) ?? 0) + 1);
    }
    for (const [symbol, ids] of quotes) {
      out.quotes.set(`${EX}:${symbol}`, [...ids.keys()]);
      for (const n of ids.values()) out.kafkaQuoteCopies += n - 1;
    }
  }
  return out;
}
