import { ErrorCode, ValidationError, type K2Error, type Logger } from '@k2/core';
import { deadLetterRecord, dlqTopic, ensureTopics, type ConsumedMessage, type K2Producer, type KafkaBrokers } from '@k2/kafka';
import type { SinkMetrics } from './metrics';

export const DEFAULT_MIN_EVENT_US = BigInt(Date.UTC(1990, 0, 1)) * 1000n;
const DAY_US = 86_400_000_000n;

/**
 * Event times outside [min, now + maxFuture] are refused (dead-lettered) instead of creating absurd partitions:
 * a producer clock in ms instead of µs would otherwise open a partition 1000 years from now.
 */
export class EventTimeCheck {
  constructor(
    private readonly minUs = DEFAULT_MIN_EVENT_US,
    private readonly maxFutureUs = DAY_US,
  ) {}

  /** The same check on µs as a double (exact below 2^53, the transcoder's representation). */
  checkUs(us: number | null): void {
    if (us === null) return;
    const max = Date.now() * 1000 + Number(this.maxFutureUs);
    if (us < Number(this.minUs) || us > max) this.check(BigInt(us));
  }

  check(ts: unknown): void {
    if (typeof ts !== 'bigint') return;
    const max = BigInt(Date.now()) * 1000n + this.maxFutureUs;
    if (ts < this.minUs || ts > max) {
      throw new ValidationError(`event timestamp ${ts} µs (${new Date(Number(ts / 1000n)).toISOString()}) is outside the accepted window`, {
        code: ErrorCode.VALIDATION_FAILED,
        context: { timestamp: ts.toString() },
      });
    }
  }
}

/** Records that cannot become rows go to `<topic>.dlq` with the reason, durably, before their offset is committed. */
export class DeadLetters {
  private readonly ready = new Set<string>();

  constructor(
    private readonly brokers: KafkaBrokers,
    private readonly producer: K2Producer,
    private readonly metrics: SinkMetrics,
    private readonly logger: Logger,
  ) {}

  async send(m: ConsumedMessage, err: K2Error): Promise<void> {
    const topic = dlqTopic(m.topic);
    if (!this.ready.has(topic)) {
      await ensureTopics(this.brokers, [{ topic }]);
      this.ready.add(topic);
    }
    const record = deadLetterRecord({
      error: err,
      raw: m.value ?? null,
      service: 'iceberg-writer',
      source: { topic: m.topic, partition: m.partition, offset: m.offset },
    });
    this.logger.warn('record sent to dead-letter topic', { topic: m.topic, partition: m.partition, offset: m.offset, code: err.code, reason: err.message });
    // Awaited: the offset of this message is committed with the next snapshot, so its dead letter must be durable first.
    await this.producer.send({ topic, key: m.key, value: Buffer.from(JSON.stringify(record)) });
    this.metrics.dlq.inc({ topic, code: err.code });
  }
}
