import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Registry } from 'prom-client';
import { createLogger, ErrorCode, FatalError, TransientError, ValidationError } from '@k2/core';
import type { DeliveryReport, OutgoingMessage } from '@k2/kafka';
import { DegradationController } from '@k2/resilience';
import { v2Type, type QuoteV2, type TradeV2 } from '@k2/schema';
import { sampleTrades, waitFor } from '@k2/testing';
import { DiskJournal } from './journal';
import { FeedMetrics } from './metrics';
import { boundedRaw, FeedPublisher, type FeedProducer } from './publisher';
import type { FeedTrade } from './types';

// The Binance @trade example from the API docs (web-socket-streams.md, "Trade Streams") and its V2 record.
const FRAME = '{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}';
const base = sampleTrades()[0] as TradeV2;
const trade = (id: number): FeedTrade => ({
  symbol: base.symbol,
  tradeId: BigInt(id),
  record: { ...base, trade_id: String(id), source_sequence: BigInt(id) },
});
const TOPIC = 'market.crypto.trades.binance';
/** Confluent framing (magic 0, schema id 1) around the real Avro encoding of the V2 record. */
const encodeTrade = (r: TradeV2) => Buffer.concat([Buffer.from([0, 0, 0, 0, 1]), v2Type('trades').toBuffer(r)]);
const tradeIdOf = (value: Buffer) => (v2Type('trades').fromBuffer(value.subarray(5)) as TradeV2).trade_id;

/** The producer surface over an in-memory log: `fail` decides per message whether the broker refuses it. */
class FakeProducer implements FeedProducer {
  readonly acked: OutgoingMessage[] = [];
  readonly attempts: OutgoingMessage[] = [];
  fail: (m: OutgoingMessage) => Error | undefined = () => undefined;
  readonly inFlight = 0;
  async send(msg: OutgoingMessage): Promise<DeliveryReport> {
    this.attempts.push(msg);
    const err = this.fail(msg);
    if (err) throw err;
    this.acked.push(msg);
    return { topic: msg.topic, partition: 0, offset: this.acked.length };
  }
  dlq(): Array<Record<string, string>> {
    return this.acked.filter((m) => m.topic.endsWith('.dlq')).map((m) => JSON.parse((m.value as Buffer).toString('utf8')));
  }
}

describe('FeedPublisher', () => {
  let dir: string;
  let registry: Registry;
  let producer: FakeProducer;
  let journal: DiskJournal;
  let degradation: DegradationController;
  const publishers: FeedPublisher[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-publisher-'));
    registry = new Registry();
    producer = new FakeProducer();
    journal = new DiskJournal({ dir, maxBytes: 1 << 20 });
    degradation = new DegradationController({ service: 'kraken-streamer', component: 'producer', registry, recoveryDelayMs: 0 });
  });
  afterEach(async () => {
    for (const p of publishers.splice(0)) await p.close(1000);
    degradation.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function publisher(over: { dlqRawMaxBytes?: number } = {}): FeedPublisher {
    const p = new FeedPublisher({
      exchange: 'binance',
      producer,
      encode: { trade: encodeTrade, quote: (r: QuoteV2) => v2Type('quotes').toBuffer(r) },
      topics: { trades: TOPIC, quotes: 'market.crypto.quotes.binance' },
      journal,
      metrics: new FeedMetrics(registry, 'binance'),
      logger: createLogger({ service: 'test', level: 'error' }),
      degradation,
      ...over,
    });
    publishers.push(p);
    return p;
  }
  const level = async () => (await registry.getSingleMetric('k2_degradation_level')?.get())?.values[0]?.value;

  describe('dead-letter records', () => {
    it('keep a small frame whole, with its length and SHA-256', async () => {
      publisher().deadLetter(TOPIC, FRAME, new ValidationError('binance trade BNBBTC t=12345: p (price): "0" must be greater than zero'));
      await waitFor('dlq record', () => producer.dlq().length === 1 || undefined);
      expect(producer.dlq()[0]).toMatchObject({
        raw: FRAME,
        raw_bytes: String(FRAME.length),
        raw_sha256: createHash('sha256').update(FRAME).digest('hex'),
        raw_truncated: 'false',
        raw_encoding: 'utf8',
        code: ErrorCode.VALIDATION_FAILED,
        exchange: 'binance',
        service: 'binance-streamer',
      });
      expect(producer.dlq()[0]!['received_at_us']).toMatch(/^\d{16}$/);
    });

    it('cut a huge frame to 64 KiB by default and record its full length and SHA-256', async () => {
      const huge = FRAME.replace('}', `,"pad":"${'x'.repeat(3 * 1024 * 1024)}"}`);
      publisher().deadLetter(TOPIC, huge, new ValidationError('binance: unknown message shape'));
      await waitFor('dlq record', () => producer.dlq().length === 1 || undefined);
      const r = producer.dlq()[0] as Record<string, string>;
      expect(Buffer.byteLength(r['raw'] as string)).toBe(64 * 1024);
      expect((r['raw'] as string).startsWith(FRAME.slice(0, -1))).toBe(true);
      expect(r).toMatchObject({ raw_bytes: String(Buffer.byteLength(huge)), raw_sha256: createHash('sha256').update(huge).digest('hex'), raw_truncated: 'true' });
      expect(((producer.acked[0] as OutgoingMessage).value as Buffer).length).toBeLessThan(70 * 1024);
    });

    it('honour the configured limit and never split a UTF-8 character', async () => {
      const text = `${'a'.repeat(255)}€€€`; // '€' is 3 bytes: byte 256 falls inside the first one
      publisher({ dlqRawMaxBytes: 256 }).deadLetter(TOPIC, text, new ValidationError('bad'));
      await waitFor('dlq record', () => producer.dlq().length === 1 || undefined);
      expect(producer.dlq()[0]).toMatchObject({ raw: 'a'.repeat(255), raw_bytes: String(255 + 9), raw_truncated: 'true' });
      expect(boundedRaw(text, 258)).toMatchObject({ text: `${'a'.repeat(255)}€`, truncated: true });
    });
  });

  it('dead-letters a record the schema refuses instead of throwing out of the frame handler', async () => {
    const p = publisher();
    const huge = 2n ** 63n; // source_sequence is an Avro long
    const bad: FeedTrade = { ...trade(1), tradeId: huge, record: { ...base, trade_id: huge.toString(), source_sequence: huge } };
    expect(p.publishTrade(bad)).toBe(true);
    expect(p.publishTrade(trade(2))).toBe(true);
    await waitFor('dlq record and the next trade', () => (producer.dlq().length === 1 && producer.acked.length === 2) || undefined);
    const r = producer.dlq()[0] as Record<string, string>;
    expect(r).toMatchObject({ code: ErrorCode.VALIDATION_FAILED, symbol: 'BNBBTC', encoding: 'v2-json' });
    expect(r['reason']).toMatch(/^record does not fit the V2 schema: /);
    expect(r['raw']).toContain('"source_sequence":9223372036854775808');
    expect(await registry.getSingleMetricAsString('k2_binance_errors_total')).toContain('kind="encode_failed"} 1');
  });

  it('sends a journal entry Kafka refuses for good to the DLQ and replays the rest', async () => {
    // A journal left by a previous run: trade 2's record is one the broker refuses (message too large).
    for (const id of [1, 2, 3]) journal.append({ topic: TOPIC, key: base.symbol, value: encodeTrade(trade(id).record) });
    journal.close();
    producer.fail = (m) =>
      m.topic === TOPIC && tradeIdOf(m.value as Buffer) === '2' ? new FatalError(ErrorCode.KAFKA_PRODUCE_FAILED, 'Broker: Message size too large') : undefined;
    publisher();
    await waitFor('journal replayed', () => (journal.isEmpty() && producer.dlq().length === 1) || undefined, 5000);
    expect(producer.acked.filter((m) => m.topic === TOPIC).map((m) => tradeIdOf(m.value as Buffer))).toEqual(['1', '3']);
    const dlq = producer.dlq()[0] as Record<string, string>;
    expect(dlq).toMatchObject({ code: ErrorCode.KAFKA_PRODUCE_FAILED, reason: 'Broker: Message size too large', symbol: 'BNBBTC', encoding: 'avro-base64' });
    expect(tradeIdOf(Buffer.from(dlq['raw'] as string, 'base64'))).toBe('2');
    expect(dlq).toMatchObject({ raw_encoding: 'base64', raw_bytes: String(Buffer.from(dlq['raw'] as string, 'base64').length) });
    // Not retried: one attempt at the poison entry, and nothing is left in the journal.
    await new Promise((r) => setTimeout(r, 700));
    expect(producer.attempts.filter((m) => m.topic === TOPIC && tradeIdOf(m.value as Buffer) === '2')).toHaveLength(1);
    expect(await registry.getSingleMetricAsString('k2_binance_errors_total')).toContain('kind="produce_rejected"} 1');
  });

  it('dead-letters a torn journal line with its place, counts it and replays the whole lines', async () => {
    journal.append({ topic: TOPIC, key: base.symbol, value: encodeTrade(trade(1).record) });
    journal.close();
    // A crash mid-write of trade 2: both tabs made it to disk, the value did not.
    const file = path.join(dir, fs.readdirSync(dir)[0] as string);
    const offset = fs.statSync(file).size;
    const torn = `${TOPIC}\t${base.symbol}\t${encodeTrade(trade(2).record).toString('base64').slice(0, 20)}`;
    fs.appendFileSync(file, torn);
    publisher();
    await waitFor('journal replayed', () => (journal.isEmpty() && producer.dlq().length === 1) || undefined, 5000);
    expect(producer.acked.filter((m) => m.topic === TOPIC).map((m) => tradeIdOf(m.value as Buffer))).toEqual(['1']);
    expect(producer.dlq()[0]).toMatchObject({
      raw: torn,
      reason: `journal ${path.basename(file)} at byte ${offset}: torn line (no newline at the end of the segment)`,
      segment: path.basename(file),
      offset: String(offset),
      encoding: 'journal-line',
    });
    expect(await registry.getSingleMetricAsString('k2_feed_journal_corrupt_lines_total')).toContain('k2_feed_journal_corrupt_lines_total{exchange="binance"} 1');
  });

  it('reports SPILL while trades are journaled after failed deliveries, even with the breaker still closed', async () => {
    let kafkaDown = true;
    producer.fail = (m) => (kafkaDown && m.topic === TOPIC ? new TransientError(ErrorCode.KAFKA_UNAVAILABLE, 'Local: Message timed out') : undefined);
    const p = publisher();
    // One trade, one batch: too few calls for the breaker's volume threshold (kraken-streamer's trickle in the e2e).
    expect(p.publishTrade(trade(1))).toBe(true);
    await waitFor('trade journaled', () => journal.size === 1 || undefined);
    expect(await level()).toBe(3);
    kafkaDown = false;
    await waitFor('journal replayed', () => journal.isEmpty() || undefined, 5000);
    await waitFor('level back to NORMAL', async () => ((await level()) === 0 ? true : undefined), 5000);
    expect(producer.acked.map((m) => tradeIdOf(m.value as Buffer))).toEqual(['1']);
  });
});
