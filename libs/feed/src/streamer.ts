import { stringifyLossless, toK2Error, ValidationError, type Logger } from '@k2/core';
import { dlqTopic, ensureTopics, K2Producer, parseTopic, readTopicTail, topicName, type KafkaConnection } from '@k2/kafka';
import { DegradationController } from '@k2/resilience';
import type { QuoteV2, TradeV2 } from '@k2/schema';
import { AvroSerde } from '@k2/serde';
import type { Readiness } from '@k2/runtime';
import type { Registry } from 'prom-client';
import type { FeedConfig } from './config';
import { decodeFailureKind } from './fields';
import { DiskJournal } from './journal';
import { FeedMetrics } from './metrics';
import { FeedPublisher, type FeedProducer, type InputState } from './publisher';
import { TradeSequencer } from './sequencer';
import type { ExchangeAdapter } from './types';
import { WebSocketFeed } from './ws-feed';

/**
 * Live trades held per symbol while a backfill runs (the sequencer's default is 50,000). Under overload the exchange
 * drops a slow client; the catch-up after the reconnect ran for minutes at REST speed while three symbols' buffers
 * filled to 150,000 trades, ~150 MB (bench:streamer at 100k/s offered, issue 20). Trades beyond the bound are
 * dropped and fetched again by the gap they leave, so the bound costs REST calls, never data.
 */
const SEQUENCER_MAX_BUFFERED = 10_000;

/**
 * The adapter's topics, or the same kinds under another exchange segment (FEED_TOPIC_EXCHANGE): tests and benchmarks
 * stream into scratch topics that no platform subscription names.
 */
export function streamerTopics(adapter: ExchangeAdapter, topicExchange: string | undefined): ExchangeAdapter['topics'] {
  if (!topicExchange) return adapter.topics;
  const rename = (topic: string) => topicName({ ...parseTopic(topic), exchange: topicExchange });
  return { trades: rename(adapter.topics.trades), quotes: rename(adapter.topics.quotes) };
}

export interface StreamerOptions {
  service: string;
  adapter: ExchangeAdapter;
  /** WebSocket base endpoints in failover order. */
  urls: readonly string[];
  kafkaBrokers: readonly string[];
  /** librdkafka security properties (`librdkafkaSecurity`); PLAINTEXT when absent. */
  kafkaSecurity?: Readonly<Record<string, string>>;
  schemaRegistryUrl: string;
  /** Registry basic auth and CA (`schemaRegistryOptions`). */
  registryAuth?: { username?: string; password?: string; ca?: string };
  feed: FeedConfig;
  logger: Logger;
  registry: Registry;
  readiness?: Readiness;
  /** Unacknowledged sends at which reading pauses (resumes below a quarter of it). Default 5,000; the benchmark varies it. */
  maxInFlight?: number;
  /** Injected for the benchmark; defaults to a K2Producer on kafkaBrokers. */
  producer?: FeedProducer & { disconnect(): Promise<void> };
}

/**
 * One exchange streamer: WebSocket feed → exchange decoder → trade sequencer (gap backfill, dedup) → publisher
 * (Kafka with breaker, journal and DLQ). The apps only load config and call this.
 */
export class Streamer {
  readonly metrics: FeedMetrics;
  readonly degradation: DegradationController;
  private feed!: WebSocketFeed;
  private publisher!: FeedPublisher;
  private sequencer!: TradeSequencer;
  private producer!: FeedProducer & { disconnect(): Promise<void> };
  private readonly received: { trade: { inc(n?: number): void }; quote: { inc(n?: number): void }; control: { inc(): void }; invalid: { inc(): void } };
  private readonly topics: ExchangeAdapter['topics'];

  constructor(private readonly o: StreamerOptions) {
    this.topics = streamerTopics(o.adapter, o.feed.topicExchange);
    this.metrics = new FeedMetrics(o.registry, o.adapter.exchange);
    this.metrics.initSymbols(o.adapter.symbols);
    this.degradation = new DegradationController({ service: o.service, component: 'producer', registry: o.registry, recoveryDelayMs: 2000 });
    const m = this.metrics.messagesReceived;
    this.received = { trade: m.labels('trade'), quote: m.labels('quote'), control: m.labels('control'), invalid: m.labels('invalid') };
  }

  get connected(): boolean {
    return this.feed?.connected ?? false;
  }

  /** Exposed for tests and the benchmark. */
  get state() {
    return { publisher: this.publisher, sequencer: this.sequencer, feed: this.feed };
  }

  async start(): Promise<void> {
    const { adapter, feed: fc, logger } = this.o;
    const brokers: KafkaConnection = { brokers: this.o.kafkaBrokers.join(','), ...(this.o.kafkaSecurity ? { security: this.o.kafkaSecurity } : {}) };
    const topics = this.topics;
    await ensureTopics(brokers, [{ topic: topics.trades }, { topic: topics.quotes }, { topic: dlqTopic(topics.trades), partitions: 1 }, { topic: dlqTopic(topics.quotes), partitions: 1 }]);
    const serde = new AvroSerde({ ...this.o.registryAuth, registryUrl: this.o.schemaRegistryUrl });
    const tradeSchema = await serde.registerV2(topics.trades, 'trades');
    const quoteSchema = await serde.registerV2(topics.quotes, 'quotes');
    this.producer =
      this.o.producer ??
      (await K2Producer.connect({
        brokers,
        clientId: this.o.service,
        logger,
        lingerMs: fc.lingerMs,
        deliveryTimeoutMs: fc.deliveryTimeoutMs,
      }));
    const journal = new DiskJournal({ dir: fc.journalDir, maxBytes: fc.journalMaxBytes });
    this.publisher = new FeedPublisher({
      exchange: adapter.exchange,
      producer: this.producer,
      encode: {
        trade: (r: TradeV2) => serde.encode<'trades'>(tradeSchema, r),
        quote: (r: QuoteV2) => serde.encode<'quotes'>(quoteSchema, r),
      },
      topics,
      journal,
      metrics: this.metrics,
      logger,
      degradation: this.degradation,
      breakerResetMs: fc.breakerResetMs,
      ...(fc.dlqRawMaxBytes === undefined ? {} : { dlqRawMaxBytes: fc.dlqRawMaxBytes }),
      ...(this.o.maxInFlight === undefined ? {} : { backpressureHigh: this.o.maxInFlight, backpressureLow: Math.floor(this.o.maxInFlight / 4) }),
    });
    this.sequencer = new TradeSequencer({
      sink: this.publisher,
      backfill: adapter.backfill,
      metrics: this.metrics,
      logger,
      exchange: adapter.exchange,
      maxBuffered: SEQUENCER_MAX_BUFFERED,
      deferBackfill: () => this.degradation.shouldDeferOptionalWork(),
      onInvalidTrade: (t, reason) => this.publisher.deadLetter(this.topics.trades, stringifyLossless(t.record), new ValidationError(reason), { symbol: t.symbol, encoding: 'v2-json' }),
    });
    if (fc.resumeFromKafka) await this.seedFromKafka(brokers, serde);
    this.degradation.start(500);

    this.feed = new WebSocketFeed({
      transport: adapter.transport,
      urls: this.o.urls,
      logger,
      metrics: this.metrics,
      backoff: { initialMs: fc.backoffInitialMs, maxMs: fc.backoffMaxMs },
      stableAfterMs: fc.stableAfterMs,
      staleTimeoutMs: fc.staleTimeoutMs,
      maxConnectionAgeMs: fc.maxConnectionAgeMs,
      ...(fc.wsMaxPayloadBytes === undefined ? {} : { maxPayloadBytes: fc.wsMaxPayloadBytes }),
      onFrame: (raw, receivedAtMicros) => this.onFrame(raw, receivedAtMicros),
      onConnected: (info) => {
        if (info.reconnect) this.sequencer.onReconnected();
      },
    });
    // The publisher's input state is the one flow-control path: throttled = stop reading the socket, halted =
    // close the connection until the journal has room (the degradation controller's HALT drives the latter).
    this.publisher.onInputState((state) => this.applyInputState(state));
    this.o.readiness?.add({ name: `${adapter.exchange}-feed`, check: () => assert(this.feed.connected, `not connected to ${adapter.exchange}`) });
    this.o.readiness?.add({ name: 'journal', check: () => assert(!this.publisher.isHalted, 'journal full, input halted') });
    this.feed.start();
  }

  async stop(): Promise<void> {
    this.feed?.stop();
    this.sequencer?.stop();
    this.degradation.stop();
    await this.publisher?.close();
    await this.producer?.disconnect();
    this.degradation.close();
  }

  private applyInputState(state: InputState): void {
    this.feed.throttle(state === 'throttled');
    if (state === 'halted') this.feed.pause();
    else this.feed.resume();
  }

  private onFrame(raw: string, receivedAtMicros: bigint): void {
    const { adapter, logger } = this.o;
    let ev;
    try {
      ev = adapter.decode(raw, { receivedAtMicros });
    } catch (err) {
      this.received.invalid.inc();
      this.metrics.errors.labels('invalid_message').inc();
      this.publisher.deadLetter(this.topics[decodeFailureKind(err)], raw, err);
      return;
    }
    switch (ev.type) {
      case 'trades':
        this.received.trade.inc(ev.trades.length);
        for (const t of ev.trades) this.sequencer.onTrade(t);
        return;
      case 'quotes':
        this.received.quote.inc(ev.quotes.length);
        if (this.o.feed.quotes) for (const q of ev.quotes) this.publisher.publishQuote(q);
        return;
      case 'control':
        this.received.control.inc();
        if (ev.notable) logger.info('exchange status', { exchange: adapter.exchange, detail: ev.detail });
        return;
      case 'exchange-error':
        this.received.control.inc();
        this.metrics.errors.labels('exchange_error').inc();
        logger.warn('exchange reported an error', { exchange: adapter.exchange, detail: ev.detail });
        return;
      case 'rotate':
        this.received.control.inc();
        this.feed.rotate('server_shutdown');
        return;
    }
  }

  /** The last trade id per symbol at the tail of the trades topic (what a previous run published). */
  private async seedFromKafka(brokers: KafkaConnection, serde: AvroSerde): Promise<void> {
    const { adapter, logger } = this.o;
    try {
      const tail = await readTopicTail(brokers, this.topics.trades, 2000);
      const exchange = adapter.exchange.toUpperCase();
      let seeded = 0;
      for (const m of tail) {
        if (!m.value) continue;
        const r = await serde.decode<TradeV2>(m.value);
        if (r.exchange !== exchange || r.source_sequence === null) continue;
        const before = this.sequencer.lastId(r.symbol);
        this.sequencer.seed(r.symbol, r.source_sequence, r.timestamp);
        if (before === undefined) seeded++;
      }
      logger.info('resuming after the last published trades', {
        exchange: adapter.exchange,
        symbols: Object.fromEntries(adapter.symbols.map((s) => [s, this.sequencer.lastId(s)?.toString() ?? null])),
        seeded,
      });
    } catch (err) {
      logger.warn('could not read the trades topic tail; starting without resume points', { exchange: adapter.exchange, error: toK2Error(err).toJSON() });
    }
  }
}

function assert(ok: boolean, reason: string): true {
  if (!ok) throw new Error(reason);
  return true;
}
