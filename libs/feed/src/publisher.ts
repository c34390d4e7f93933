import { ErrorCode, isRetriable, stringifyLossless, toK2Error, TransientError, ValidationError, type Logger } from '@k2/core';
import type { DeliveryCallback, DeliveryReport, OutgoingMessage } from '@k2/kafka';
import { DEFAULT_DLQ_RAW_MAX_BYTES, deadLetterRecord, dlqTopic, type DeadLetterRecord } from '@k2/kafka';
import { CircuitOpenError, createCircuitBreaker, DegradationLevel, retry, sleep, untilAborted, type CircuitBreaker, type DegradationController } from '@k2/resilience';
import type { QuoteV2, TradeV2 } from '@k2/schema';
import type { DiskJournal, JournalEntry, JournalSegment } from './journal';
import type { FeedMetrics } from './metrics';
import type { TradeSink } from './sequencer';
import type { FeedQuote, FeedTrade } from './types';

/** The producer surface the publisher needs; `K2Producer` satisfies it. */
export interface FeedProducer {
  send(msg: OutgoingMessage): Promise<DeliveryReport>;
  /** `send` with a callback instead of a promise per message (K2Producer.produce); used when present. */
  produce?(msg: OutgoingMessage, done: DeliveryCallback): void;
  readonly inFlight: number;
}

export interface FeedEncoders {
  trade(record: TradeV2): Buffer;
  quote(record: QuoteV2): Buffer;
}

export interface PublisherOptions {
  exchange: string;
  producer: FeedProducer;
  encode: FeedEncoders;
  topics: { readonly trades: string; readonly quotes: string };
  journal: DiskJournal;
  metrics: FeedMetrics;
  logger: Logger;
  degradation: DegradationController;
  /** How long the produce breaker stays open before a trial. Default 5000 ms. */
  breakerResetMs?: number;
  /** Producer in-flight counts at which quotes are shed (SOFT) and trades spill to the journal (SPILL). */
  inFlightSoft?: number;
  inFlightSpill?: number;
  /**
   * Unacknowledged sends at which input is throttled, and below which it reads again. Default 5,000 / 1,250: at
   * 20,000 the queue alone made produce latency p99 1-5 s at full offer for no more throughput (bench:streamer,
   * issue 20: p99 <= 0.25 s at 5,000 with the same acknowledged rate within the machine's noise).
   */
  backpressureHigh?: number;
  backpressureLow?: number;
  /** µs clock for platform_sequence; injectable for tests. */
  nowMicros?: () => bigint;
  /** UTF-8 bytes of the raw text kept in a dead-letter record (FEED_DLQ_RAW_MAX_BYTES). Default 64 KiB. */
  dlqRawMaxBytes?: number;
  /** `service` in dead-letter records. Default `<exchange>-streamer`. */
  service?: string;
}

/**
 * Whether the streamer may read input: `throttled` while too many sends wait for Kafka (stop reading the socket,
 * keep the connection), `halted` while the journal is full (close the connection; REST backfill closes the gap).
 */
export type InputState = 'reading' | 'throttled' | 'halted';

/** Re-exported from @k2/kafka, where the dead-letter record now lives (issue 18). */
export { boundedRaw, DEFAULT_DLQ_RAW_MAX_BYTES } from '@k2/kafka';

interface Outgoing {
  readonly entry: JournalEntry;
  readonly isTrade: boolean;
  readonly started: bigint;
  /** A journal entry being replayed: on failure it simply stays in its segment. */
  readonly replay?: boolean;
  /** Set once Kafka acknowledged it. */
  ok?: boolean;
  /** Why the delivery failed, for a replayed entry (a non-retriable one goes to the DLQ). */
  error?: unknown;
}

/** The streamers' dead-letter record: the common one (@k2/kafka) plus string context (`symbol`, `encoding`, …). */
export type DlqRecord = DeadLetterRecord & { readonly [k: string]: string | number | null | undefined };

/**
 * Everything between a mapped record and a Kafka acknowledgement: platform_sequence, Avro encoding, the produce
 * circuit breaker, quote shedding, the trade journal while Kafka is unavailable and its in-order replay, and the
 * dead-letter topic for bad input. Trades are never dropped here: a trade is either acknowledged by Kafka, in the
 * journal, or refused (`publishTrade` → false) so that the sequencer does not consume its id and REST backfill
 * fetches it later.
 */
export class FeedPublisher implements TradeSink {
  private readonly breaker: CircuitBreaker<[readonly Outgoing[]], void>;
  private batch: Outgoing[] = [];
  private readonly seqs = new Map<string, bigint>();
  private readonly latency: { trades: { observe(v: number): void }; quotes: { observe(v: number): void } };
  private readonly published: { trades: { inc(n?: number): void }; quotes: { inc(n?: number): void } };
  private readonly nowMicros: () => bigint;
  private replaying: Promise<void> | undefined;
  private halted = false;
  private stopped = false;
  private readonly stopping = new AbortController();
  private outstanding = 0;
  private input: InputState = 'reading';
  private readonly inputListeners: Array<(state: InputState) => void> = [];
  private readonly high: number;
  private readonly low: number;
  /** Trades went to the journal because Kafka failed them; cleared once the journal is replayed empty. */
  private spilledOnFailure = false;

  constructor(private readonly o: PublisherOptions) {
    this.nowMicros = o.nowMicros ?? (() => BigInt(Date.now()) * 1000n);
    this.high = o.backpressureHigh ?? 5_000;
    this.low = o.backpressureLow ?? 1_250;
    this.breaker = createCircuitBreaker((batch: readonly Outgoing[]) => this.sendBatch(batch), {
      name: `${o.exchange}-kafka-producer`,
      // librdkafka's message.timeout.ms bounds every delivery; a second timer per message would only cost.
      timeout: false,
      resetTimeout: o.breakerResetMs ?? 5000,
      volumeThreshold: 3,
    });
    o.degradation.watchBreaker(this.breaker);
    o.degradation.addSignal({
      name: 'producer-in-flight',
      read: () => o.producer.inFlight,
      thresholds: { soft: o.inFlightSoft ?? 100_000, spill: o.inFlightSpill ?? 400_000 },
    });
    // Spilling after failed deliveries is SPILL even when the breaker never opened: a trickle of trades (kraken-streamer
    // in the e2e broker restart) sends too few batches per window for the breaker's volume threshold, so the level
    // stayed 0 while 1,730 trades were journaled (docs/e2e.md, open defect).
    o.degradation.addSignal({
      name: 'journal-spill',
      read: () => (this.spilledOnFailure ? 1 : 0),
      thresholds: { spill: 1 },
      hysteresis: 0,
    });
    o.degradation.addSignal({
      name: 'journal-bytes',
      read: () => o.journal.bytes,
      thresholds: { halt: o.journal.maxBytes },
      hysteresis: 0.5,
    });
    o.degradation.on('change', ({ level, previous, reason }) => {
      o.logger.warn('degradation level changed', { exchange: o.exchange, level, previous, reason });
      if (level >= DegradationLevel.HALT && !this.halted) this.halt();
      else if (level < DegradationLevel.HALT && this.halted) this.resume();
    });
    this.latency = { trades: o.metrics.produceLatency.labels(o.topics.trades), quotes: o.metrics.produceLatency.labels(o.topics.quotes) };
    this.published = {
      trades: o.metrics.published.labels(o.exchange, o.topics.trades),
      quotes: o.metrics.published.labels(o.exchange, o.topics.quotes),
    };
    this.updateJournalGauges();
    if (!o.journal.isEmpty()) {
      o.logger.warn('journal from a previous run found, replaying it before new data', { exchange: o.exchange, entries: o.journal.size });
      this.markSpilledOnFailure();
      this.startReplay();
    }
  }

  /** Trades go to the journal (in order) while it holds anything, the breaker is not closed, or the producer is saturated. */
  get spilling(): boolean {
    return this.replaying !== undefined || !this.o.journal.isEmpty() || this.o.degradation.shouldSpill();
  }

  get isHalted(): boolean {
    return this.halted;
  }

  /** Sends still waiting for an acknowledgement. */
  get pending(): number {
    return this.outstanding;
  }

  /** The one flow-control signal: what input may do now (see InputState). */
  get inputState(): InputState {
    return this.input;
  }

  /** Called on every change of `inputState`, as it happens (no polling). */
  onInputState(listener: (state: InputState) => void): void {
    this.inputListeners.push(listener);
  }

  private setInput(state: InputState): void {
    if (state === this.input) return;
    this.input = state;
    for (const l of this.inputListeners) l(state);
  }

  /** Throttle above `high` sends in flight; read again below `low` or once trades go to the journal anyway. */
  private updateBackpressure(): void {
    if (this.halted) return;
    if (this.input === 'reading' && this.outstanding > this.high) this.setInput('throttled');
    else if (this.input === 'throttled' && (this.outstanding < this.low || this.spilling)) this.setInput('reading');
  }

  publishTrade(t: FeedTrade): boolean {
    if (this.halted || this.stopped) return false;
    const record: TradeV2 = { ...t.record, platform_sequence: this.nextSequence(t.symbol) };
    const value = this.encodeOrDeadLetter(() => this.o.encode.trade(record), record, this.o.topics.trades);
    // In the DLQ with its reason: consumed, like a published trade (the sequencer checked its id's range).
    if (value === undefined) return true;
    const entry: JournalEntry = { topic: this.o.topics.trades, key: t.symbol, value };
    if (this.spilling) {
      if (!this.o.journal.append(entry)) {
        this.halt();
        return false;
      }
      this.startReplay();
      return true;
    }
    this.sendDirect(entry, true);
    return true;
  }

  /** Quotes are superseded within milliseconds, so under pressure they are shed (counted), never journaled. */
  publishQuote(q: FeedQuote): void {
    if (this.halted || this.stopped || this.spilling || this.o.degradation.shouldShed('quotes')) {
      this.o.metrics.shed.labels(this.o.exchange, this.o.topics.quotes).inc();
      return;
    }
    const record: QuoteV2 = { ...q.record, platform_sequence: this.nextSequence(`q:${q.symbol}`) };
    const value = this.encodeOrDeadLetter(() => this.o.encode.quote(record), record, this.o.topics.quotes);
    if (value !== undefined) this.sendDirect({ topic: this.o.topics.quotes, key: q.symbol, value }, false);
  }

  /**
   * Bad input: raw text and reason to `<topic>.dlq` (JSON, not Avro: it did not fit the schema). The raw text is cut
   * to dlqRawMaxBytes, with its full length and SHA-256 kept: a multi-MiB frame must not make a multi-MiB DLQ record.
   */
  deadLetter(baseTopic: string, raw: string | Buffer, err: unknown, context: Record<string, string> = {}): void {
    const e = toK2Error(err);
    const topic = dlqTopic(baseTopic);
    this.o.metrics.dlq.labels(topic, e.code).inc();
    const record: DlqRecord = {
      ...context,
      ...deadLetterRecord({
        error: e,
        raw,
        service: this.o.service ?? `${this.o.exchange}-streamer`,
        exchange: this.o.exchange,
        rawMaxBytes: this.o.dlqRawMaxBytes ?? DEFAULT_DLQ_RAW_MAX_BYTES,
        receivedAtMicros: this.nowMicros(),
      }),
    };
    this.o.logger.warn('message sent to dead-letter topic', { topic, exchange: this.o.exchange, code: e.code, reason: e.message, raw_bytes: Number(record.raw_bytes), ...context });
    this.o.producer.send({ topic, key: context['symbol'] ?? null, value: Buffer.from(JSON.stringify(record)) }).catch((sendErr) => {
      // The DLQ is best effort while Kafka is down; the reason is in the log line above.
      this.o.logger.error('dead-letter produce failed', { topic, error: toK2Error(sendErr).toJSON() });
    });
  }

  /**
   * A record the schema refuses is bad input, never a crash of the frame handler (issue 18: an id above 2^63-1
   * threw inside Avro encoding); the mappers refuse such values first, this is the net behind them.
   */
  private encodeOrDeadLetter(encode: () => Buffer, record: TradeV2 | QuoteV2, topic: string): Buffer | undefined {
    try {
      return encode();
    } catch (err) {
      this.o.metrics.errors.labels('encode_failed').inc();
      const e = new ValidationError(`record does not fit the V2 schema: ${toK2Error(err).message}`, { cause: err });
      this.deadLetter(topic, stringifyLossless(record), e, { symbol: record.symbol, encoding: 'v2-json' });
      return undefined;
    }
  }

  /** Stops accepting, flushes the journal buffer and waits for outstanding sends (bounded). */
  async close(timeoutMs = 20_000): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    const deadline = Date.now() + timeoutMs;
    while (this.outstanding > 0 && Date.now() < deadline) await sleep(20);
    this.o.journal.close();
    this.breaker.shutdown();
  }

  /**
   * Sends are grouped per event-loop turn and go through the breaker as one call: the breaker sees one outcome
   * per batch (any retriable delivery failure fails the batch), which keeps its per-call cost off the per-trade path.
   */
  private sendDirect(entry: JournalEntry, isTrade: boolean): void {
    this.outstanding++;
    if (this.outstanding > this.high) this.updateBackpressure();
    this.batch.push({ entry, isTrade, started: process.hrtime.bigint() });
    if (this.batch.length === 1) setImmediate(() => this.flushBatch());
  }

  private flushBatch(): void {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    this.breaker.fire(batch).catch((err) => {
      if (!(err instanceof CircuitOpenError)) return; // delivery failures were handled per message
      // The breaker was open: nothing of this batch was sent.
      for (const b of batch) {
        this.outstanding--;
        this.onSendFailed(b.entry, b.isTrade, err);
      }
      this.updateBackpressure();
    });
  }

  private sendBatch(batch: readonly Outgoing[]): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let left = batch.length;
      let failure: unknown;
      const settle = () => {
        if (--left > 0) return;
        this.updateBackpressure();
        if (failure !== undefined) reject(failure);
        else resolve();
      };
      const onReport = (b: Outgoing, err: unknown) => {
        const kind = b.isTrade ? 'trades' : 'quotes';
        if (err === undefined) {
          b.ok = true;
          if (!b.replay) {
            this.outstanding--;
            this.latency[kind].observe(Number(process.hrtime.bigint() - b.started) / 1e9);
            this.published[kind].inc();
          }
        } else {
          if (isRetriable(err)) failure ??= err;
          b.error = err;
          if (!b.replay) {
            this.outstanding--;
            this.onSendFailed(b.entry, b.isTrade, err);
          }
        }
        settle();
      };
      const producer = this.o.producer;
      for (const b of batch) {
        const msg = { topic: b.entry.topic, key: b.entry.key, value: b.entry.value };
        // One callback per delivery report, no promise per message (issue 20); a producer without `produce` (tests'
        // in-memory ones) goes through `send`.
        if (producer.produce) producer.produce(msg, (err) => onReport(b, err));
        else producer.send(msg).then(() => onReport(b, undefined), (err: unknown) => onReport(b, err ?? new Error('send failed')));
      }
    });
  }

  private onSendFailed(entry: JournalEntry, isTrade: boolean, err: unknown): void {
    const e = toK2Error(err);
    if (!isTrade) {
      this.o.metrics.shed.labels(this.o.exchange, entry.topic).inc();
      return;
    }
    if (!isRetriable(e)) {
      this.rejectTrade(entry, e);
      return;
    }
    this.o.metrics.errors.labels('produce_failed').inc();
    this.markSpilledOnFailure();
    // Already accepted upstream, so it must be kept even beyond the journal's soft limit (bounded by the
    // producer queue); the journal then being full halts input.
    if (!this.o.journal.append(entry)) {
      this.o.journal.append(entry, true);
      this.halt();
    }
    this.startReplay();
  }

  /** Kafka refused this trade for good (e.g. message too large): retrying cannot help, so it goes to the DLQ. */
  private rejectTrade(entry: JournalEntry, err: unknown): void {
    this.o.metrics.errors.labels('produce_rejected').inc();
    this.deadLetter(entry.topic, entry.value, err, { symbol: entry.key, encoding: 'avro-base64' });
  }

  /** Torn or garbled journal lines are never replayed (issue 18): counted, logged with their place and dead-lettered. */
  private deadLetterCorrupt(seg: JournalSegment): void {
    for (const c of seg.corrupt) {
      this.o.metrics.journalCorrupt.labels(this.o.exchange).inc();
      const where = { segment: c.segment, offset: String(c.offset) };
      this.o.logger.error('journal line skipped, not replayed', { exchange: this.o.exchange, ...where, bytes: c.bytes, reason: c.reason });
      this.deadLetter(this.o.topics.trades, c.text, new ValidationError(`journal ${c.segment} at byte ${c.offset}: ${c.reason}`), { ...where, encoding: 'journal-line' });
    }
  }

  private markSpilledOnFailure(): void {
    if (this.spilledOnFailure) return;
    this.spilledOnFailure = true;
    this.o.degradation.evaluate();
  }

  private startReplay(): void {
    this.updateJournalGauges();
    if (this.replaying || this.stopped) return;
    this.replaying = this.replay()
      .catch((err) => {
        this.o.logger.error('journal replay failed', { exchange: this.o.exchange, error: toK2Error(err).toJSON() });
      })
      .finally(() => {
        this.replaying = undefined;
        this.updateJournalGauges();
        if (!this.o.journal.isEmpty() && !this.stopped) setTimeout(() => this.startReplay(), 500).unref?.();
      });
  }

  /**
   * Replays until the journal is empty: an unbounded retry policy that `close()` aborts. A pass that leaves entries
   * behind waits a fixed 500 ms before the next; while the produce breaker is open it looks again every 250 ms.
   */
  private async replay(): Promise<void> {
    const policy = untilAborted(this.stopping.signal, {
      initialMs: 500,
      factor: 1,
      maxMs: 500,
      jitter: 0,
      delayFor: (err) => (err instanceof CircuitOpenError ? 250 : undefined),
    });
    await retry(() => this.replayPass(), policy).catch((err) => {
      if (!this.stopped) throw err;
    });
  }

  /** Oldest segment first; a segment is deleted only when every entry in it is acknowledged. Throws to wait. */
  private async replayPass(): Promise<void> {
    while (!this.stopped) {
      if (this.o.journal.isEmpty()) {
        this.spilledOnFailure = false;
        this.o.degradation.evaluate();
        if (this.halted && !this.o.degradation.shouldHalt()) this.resume();
        return;
      }
      if (this.breaker.state === 'open') throw new CircuitOpenError(`${this.o.exchange}-kafka-producer`, undefined);
      const seg = this.o.journal.oldest();
      if (!seg) return;
      this.deadLetterCorrupt(seg);
      const started = process.hrtime.bigint();
      const batch: Outgoing[] = seg.entries.map((entry) => ({ entry, isTrade: true, started, replay: true }));
      if (batch.length > 0) await this.breaker.fire(batch).catch(() => undefined);
      const kept = this.settleReplayed(seg, batch);
      this.updateJournalGauges();
      if (kept > 0) {
        this.markSpilledOnFailure();
        throw new TransientError(ErrorCode.KAFKA_PRODUCE_FAILED, `${kept} journal entries of ${seg.name} not acknowledged yet`);
      }
    }
  }

  /**
   * Drops acknowledged entries from the segment and sends the ones Kafka refused for good to the DLQ (one poison
   * entry used to be retried every 500 ms until the journal filled and input halted: issue 18); returns how many
   * entries stay for another attempt.
   */
  private settleReplayed(seg: JournalSegment, batch: readonly Outgoing[]): number {
    const failed = batch.filter((b) => !b.ok);
    const poison = failed.filter((b) => b.error !== undefined && !isRetriable(b.error));
    for (const b of poison) this.rejectTrade(b.entry, b.error);
    const keep = failed.filter((b) => !poison.includes(b)).map((b) => b.entry);
    if (keep.length === 0) seg.remove();
    else seg.retain(keep);
    const done = batch.length - failed.length;
    if (done > 0) {
      this.o.metrics.journalReplayed.labels(this.o.exchange).inc(done);
      this.published.trades.inc(done);
    }
    if (done > 0 || poison.length > 0) {
      this.o.logger.info('journal segment replayed', { exchange: this.o.exchange, segment: seg.name, replayed: done, dead_lettered: poison.length, remaining: keep.length });
    }
    return keep.length;
  }

  private halt(): void {
    if (this.halted) return;
    this.halted = true;
    this.o.logger.error('journal full: input halted until Kafka catches up; REST backfill will close the gap', {
      exchange: this.o.exchange,
      journal_bytes: this.o.journal.bytes,
    });
    this.setInput('halted');
  }

  private resume(): void {
    if (!this.halted) return;
    this.halted = false;
    this.o.logger.info('journal has room again: input resumed', { exchange: this.o.exchange, journal_bytes: this.o.journal.bytes });
    this.setInput('reading');
    this.updateBackpressure();
  }

  private updateJournalGauges(): void {
    this.o.metrics.journalBytes.labels(this.o.exchange).set(this.o.journal.bytes);
    this.o.metrics.journalEntries.labels(this.o.exchange).set(this.o.journal.size);
  }

  /**
   * platform_sequence: per symbol, strictly increasing for the life of the data, not just the process: it starts
   * from the current time in µs, so a restarted streamer continues above what it wrote before.
   */
  private nextSequence(key: string): bigint {
    const now = this.nowMicros();
    const prev = this.seqs.get(key);
    const next = prev === undefined || prev < now ? now : prev + 1n;
    this.seqs.set(key, next);
    return next;
  }
}
