import Kafka from 'node-rdkafka';
import type { Logger } from '@k2/core';
import { ErrorCode, TransientError, type K2Error } from '@k2/core';
import { requireCodec } from './codecs';
import { kafkaError } from './errors';
import { connectionConfig, type KafkaBrokers } from './security';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface ProducerOptions {
  brokers: KafkaBrokers;
  clientId: string;
  logger?: Logger;
  compression?: Compression;
  /** Wait this long to fill a batch (latency vs. throughput). */
  lingerMs?: number;
  batchNumMessages?: number;
  /** librdkafka gives up on a message after this long (`message.timeout.ms`) and reports it failed. */
  deliveryTimeoutMs?: number;
  /** Max messages queued in librdkafka before send() waits. */
  queueMaxMessages?: number;
  /** Extra librdkafka settings (`CONFIGURATION.md` names); cannot turn idempotence or acks off. */
  extra?: Record<string, string | number | boolean>;
}

export interface OutgoingMessage {
  topic: string;
  value: Buffer;
  key?: string | Buffer | null;
  partition?: number;
  headers?: Array<Record<string, string | Buffer>>;
  /** Kafka message timestamp, ms. */
  timestamp?: number;
}

export interface DeliveryReport {
  topic: string;
  partition: number;
  offset: number;
}

/** Called once per message with its delivery report: an error (a K2Error) or where the broker stored it. */
export type DeliveryCallback = (err: K2Error | undefined, report: DeliveryReport | undefined) => void;

interface Pending {
  done: DeliveryCallback;
}

/**
 * node-rdkafka producer with the settings K2 relies on for "no loss, no duplicates": idempotence on (which
 * implies acks=all, bounded in-flight and retries without reordering), delivery reports for every message, and
 * a flush on shutdown. `send` resolves only when the broker has acknowledged the message.
 */
/**
 * Delivery reports carry errors that node-rdkafka often rebuilds from message text with no code (-1), e.g. a
 * message that timed out while every broker was down. A failed delivery is a sink problem — retriable — unless
 * the broker rejected the record itself (too large, invalid, not authorised): those would fail forever.
 */
const PERMANENT_DELIVERY_CODES = new Set<number>([
  Kafka.CODES.ERRORS.ERR_MSG_SIZE_TOO_LARGE,
  Kafka.CODES.ERRORS.ERR_INVALID_MSG,
  Kafka.CODES.ERRORS.ERR_INVALID_MSG_SIZE,
  Kafka.CODES.ERRORS.ERR_INVALID_RECORD,
  Kafka.CODES.ERRORS.ERR_RECORD_LIST_TOO_LARGE,
  Kafka.CODES.ERRORS.ERR_TOPIC_AUTHORIZATION_FAILED,
]);

/**
 * A principal without Write (or IdempotentWrite) is refused the idempotent producer id: librdkafka reports "cluster
 * authorization failed" (node-rdkafka: text only, code -1, no isFatal) and purges every queued message. That will
 * not heal by retrying, so the producer turns fatal and the purged sends say why (issue 18: the query-api's user).
 */
const AUTHORIZATION_FAILED = /authorization failed/i;

function deliveryError(err: Kafka.LibrdKafkaError, report: Kafka.DeliveryReport): K2Error {
  const context = { topic: report.topic, partition: report.partition };
  const e = kafkaError(err, `delivery to ${report.topic}`, context);
  if (e.retriable || PERMANENT_DELIVERY_CODES.has(err.code) || (err as { isFatal?: boolean }).isFatal) return e;
  return new TransientError(ErrorCode.KAFKA_UNAVAILABLE, e.message, { cause: err, context: e.context });
}

export class K2Producer {
  private readonly pending = new Set<Pending>();
  private closed = false;
  private fatal: unknown;

  private constructor(
    private readonly producer: Kafka.Producer,
    private readonly logger?: Logger,
  ) {}

  static librdkafkaConfig(o: ProducerOptions): Kafka.ProducerGlobalConfig {
    return {
      ...(o.extra ?? {}),
      ...connectionConfig(o.brokers),
      'client.id': o.clientId,
      'enable.idempotence': true,
      acks: -1,
      dr_cb: true,
      'compression.codec': o.compression ?? 'zstd',
      'linger.ms': o.lingerMs ?? 5,
      'batch.num.messages': o.batchNumMessages ?? 10000,
      'message.timeout.ms': o.deliveryTimeoutMs ?? 300000,
      'queue.buffering.max.messages': o.queueMaxMessages ?? 500000,
      'socket.keepalive.enable': true,
    } as Kafka.ProducerGlobalConfig;
  }

  static async connect(o: ProducerOptions, connectTimeoutMs = 30000): Promise<K2Producer> {
    requireCodec(o.compression ?? 'zstd', 'producer', o.clientId);
    // message.timeout.ms is a topic-level property: librdkafka ignores it in the global config of a producer
    // created with its own default topic config, so it is set on both.
    const producer = new Kafka.Producer(K2Producer.librdkafkaConfig(o), { 'message.timeout.ms': o.deliveryTimeoutMs ?? 300000 });
    const self = new K2Producer(producer, o.logger);
    producer.on('delivery-report', (err, report) => self.onDelivery(err, report));
    producer.on('event.error', (err) => self.onError(err));
    await new Promise<void>((resolve, reject) => {
      producer.connect({ timeout: connectTimeoutMs }, (err) => (err ? reject(kafkaError(err, 'connect')) : resolve()));
    });
    // Delivery reports are only emitted when librdkafka is polled.
    producer.setPollInterval(10);
    return self;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  isConnected(): boolean {
    return !this.closed && !this.fatal && this.producer.isConnected();
  }

  /** Resolves with partition/offset once acknowledged by all in-sync replicas; rejects with a K2Error. */
  send(msg: OutgoingMessage): Promise<DeliveryReport> {
    return new Promise<DeliveryReport>((resolve, reject) => this.produce(msg, (err, report) => (err ? reject(err) : resolve(report as DeliveryReport))));
  }

  /**
   * `send` without a promise per message: `done` gets the delivery report. For the streamers' hot path, where a
   * promise and its settlement per trade cost more than the produce call itself (issue 20). Exactly one call of
   * `done` per message, also when the producer is closed or fatal (then at once, with the reason).
   */
  produce(msg: OutgoingMessage, done: DeliveryCallback): void {
    if (this.closed) return done(new TransientError(ErrorCode.SHUTTING_DOWN, 'producer is closed'), undefined);
    if (this.fatal) return done(kafkaError(this.fatal, 'producer is in a fatal state'), undefined);
    const p: Pending = { done };
    this.pending.add(p);
    this.enqueue(msg, p, Date.now());
  }

  private enqueue(msg: OutgoingMessage, p: Pending, started: number): void {
    try {
      this.producer.produce(
        msg.topic,
        msg.partition ?? null,
        msg.value,
        msg.key ?? null,
        msg.timestamp ?? null,
        p,
        msg.headers as Kafka.MessageHeader[] | undefined,
      );
    } catch (err) {
      const code = (err as { code?: number }).code;
      // Local queue full: librdkafka frees space as deliveries complete, so wait a little and try again.
      if (code === Kafka.CODES.ERRORS.ERR__QUEUE_FULL && Date.now() - started < 60000 && !this.closed) {
        setTimeout(() => this.enqueue(msg, p, started), 2);
        return;
      }
      this.pending.delete(p);
      p.done(kafkaError(err, `produce to ${msg.topic}`, { topic: msg.topic }), undefined);
    }
  }

  private onDelivery(err: Kafka.LibrdKafkaError | null, report: Kafka.DeliveryReport): void {
    const p = report.opaque as Pending | undefined;
    if (!p) return;
    this.pending.delete(p);
    if (err && this.fatal && (err.code === Kafka.CODES.ERRORS.ERR__PURGE_QUEUE || /purged/i.test(err.message))) {
      p.done(kafkaError(this.fatal, `delivery to ${report.topic}`, { topic: report.topic }), undefined);
    } else if (err) p.done(deliveryError(err, report), undefined);
    else p.done(undefined, { topic: report.topic, partition: report.partition, offset: report.offset });
  }

  private onError(err: Kafka.LibrdKafkaError): void {
    if ((err as { isFatal?: boolean }).isFatal || AUTHORIZATION_FAILED.test(err.message)) {
      // A fatal idempotence error means ordering/exactly-once can no longer be guaranteed: stop accepting.
      this.fatal = err;
      this.logger?.error('kafka producer fatal error', { error: err.message, code: err.code });
    } else {
      this.logger?.warn('kafka producer error', { error: err.message, code: err.code });
    }
  }

  /** Waits until every queued message has a delivery report (or the timeout passes). */
  async flush(timeoutMs = 30000): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.producer.flush(timeoutMs, (err) => (err ? reject(kafkaError(err, 'flush')) : resolve())),
    );
    // Delivery callbacks for the flushed messages run on the next poll.
    const deadline = Date.now() + Math.min(timeoutMs, 5000);
    while (this.pending.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  /** Flushes, then disconnects. Messages still unacknowledged are rejected so callers never hang. */
  async disconnect(timeoutMs = 30000): Promise<void> {
    if (this.closed) return;
    try {
      if (this.producer.isConnected()) await this.flush(timeoutMs);
    } finally {
      this.closed = true;
      for (const p of this.pending) p.done(new TransientError(ErrorCode.SHUTTING_DOWN, 'producer closed before delivery'), undefined);
      this.pending.clear();
      this.producer.setPollInterval(0);
      await new Promise<void>((resolve) => this.producer.disconnect(timeoutMs, () => resolve()));
    }
  }

  /** Broker metadata round trip: the readiness probe for producing services. */
  async ping(timeoutMs = 5000): Promise<void> {
    await new Promise<void>((resolve, reject) =>
      this.producer.getMetadata({ timeout: timeoutMs }, (err) => (err ? reject(kafkaError(err, 'metadata')) : resolve())),
    );
  }
}
