import { createLogger, ErrorCode, TransientError, ValidationError } from '@k2/core';
import { sampleTrades } from '@k2/testing';
import { TradeSequencer, type SequencerMetrics } from './sequencer';
import type { BackfillSource, FeedTrade } from './types';

// The Binance @trade sample from the API docs (trade 12345), renumbered to walk through id sequences.
const base = sampleTrades()[0]!;
const trade = (id: number): FeedTrade => ({
  symbol: base.symbol,
  tradeId: BigInt(id),
  record: { ...base, trade_id: String(id), source_sequence: BigInt(id), timestamp: base.timestamp + BigInt(id) },
});
const ids = (ts: FeedTrade[]) => ts.map((t) => Number(t.tradeId));
const logger = createLogger({ service: 'test', level: 'error' });

class Counts implements SequencerMetrics {
  gaps = 0;
  filled = 0;
  duplicates = 0;
  unfilledIds = 0n;
  gapDetected(): void {
    this.gaps++;
  }
  backfilled(_s: string, n: number): void {
    this.filled += n;
  }
  duplicate(): void {
    this.duplicates++;
  }
  unfilled(_s: string, n: bigint): void {
    this.unfilledIds += n;
  }
}

/** REST history of trades 1..upTo, paged like Binance (fromId, limit). */
function history(upTo: () => number, missing: Set<number> = new Set(), limit = 3): BackfillSource & { calls: number } {
  const src = {
    calls: 0,
    async fetchAfter(_symbol: string, after: { tradeId: bigint }) {
      src.calls++;
      const out: FeedTrade[] = [];
      for (let id = Number(after.tradeId) + 1; id <= upTo() && out.length < limit; id++) if (!missing.has(id)) out.push(trade(id));
      return out;
    },
  };
  return src;
}

function setup(rest: BackfillSource, accept: (t: FeedTrade) => boolean = () => true, extra: Partial<ConstructorParameters<typeof TradeSequencer>[0]> = {}) {
  const out: FeedTrade[] = [];
  const metrics = new Counts();
  const seq = new TradeSequencer({
    sink: { publishTrade: (t) => (accept(t) ? (out.push(t), true) : false) },
    backfill: rest,
    metrics,
    logger,
    exchange: 'binance',
    ...extra,
  });
  return { out, metrics, seq, filled: () => metrics.filled };
}

describe('TradeSequencer', () => {
  it('retries a page through retry(): retriable failures up to maxAttempts, a non-retriable one at once, stop() ends a long delay', async () => {
    const failing = (err: () => Error) => {
      const src = { calls: 0, fetchAfter: async (): Promise<FeedTrade[]> => (src.calls++, Promise.reject(err())) };
      return src;
    };
    const fast = { retryPolicy: { initialMs: 1, maxMs: 1 }, maxAttempts: 3 };
    const down = failing(() => new TransientError(ErrorCode.EXCHANGE_UNAVAILABLE, 'HTTP 503'));
    const a = setup(down, undefined, fast);
    a.seq.onTrade(trade(1));
    a.seq.onTrade(trade(3));
    expect(await a.seq.idle(5000)).toBe(true);
    expect(down.calls).toBe(3);
    const refused = failing(() => new ValidationError('HTTP 400'));
    const b = setup(refused, undefined, fast);
    b.seq.onTrade(trade(1));
    b.seq.onTrade(trade(3));
    expect(await b.seq.idle(5000)).toBe(true);
    expect(refused.calls).toBe(1);
    const slow = failing(() => new TransientError(ErrorCode.EXCHANGE_UNAVAILABLE, 'HTTP 503'));
    const c = setup(slow, undefined, { retryPolicy: { initialMs: 60_000, maxMs: 60_000 } });
    c.seq.onTrade(trade(1));
    c.seq.onTrade(trade(3));
    await new Promise((r) => setTimeout(r, 20));
    c.seq.stop();
    expect(await c.seq.idle(2000)).toBe(true);
    expect(slow.calls).toBe(1);
  });

  it('passes an in-order stream straight through and drops overlaps', () => {
    const { out, metrics, seq } = setup(history(() => 0));
    for (const id of [7, 8, 9, 8, 9, 10]) seq.onTrade(trade(id));
    expect(ids(out)).toEqual([7, 8, 9, 10]);
    expect(metrics.duplicates).toBe(2);
    expect(metrics.gaps).toBe(0);
  });

  it('fills a gap from REST, holding newer live trades until the hole is closed, and releases in order', async () => {
    let exchangeHead = 20;
    const rest = history(() => exchangeHead);
    const { out, metrics, seq, filled } = setup(rest);
    seq.onTrade(trade(1));
    seq.onTrade(trade(2));
    seq.onTrade(trade(10)); // 3..9 were never received
    seq.onTrade(trade(11));
    seq.onTrade(trade(9)); // late overlap while backfilling
    expect(ids(out)).toEqual([1, 2]);
    await seq.idle();
    expect(ids(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(metrics.gaps).toBe(1);
    expect(filled()).toBe(6); // 3..8; 9 arrived live while the backfill ran
    expect(rest.calls).toBe(2); // two pages of 3
    exchangeHead = 30;
    seq.onTrade(trade(12));
    expect(ids(out).at(-1)).toBe(12);
  });

  it('after a reconnect catches up from REST even if the symbol stays quiet', async () => {
    const rest = history(() => 8);
    const { out, seq } = setup(rest);
    seq.onTrade(trade(1));
    seq.onReconnected();
    await seq.idle();
    expect(ids(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    seq.onTrade(trade(8));
    seq.onTrade(trade(9));
    expect(ids(out)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('declares ids REST cannot supply as unfilled (loudly) and moves on', async () => {
    const rest = history(() => 10, new Set([4, 5]));
    const { out, metrics, seq } = setup(rest);
    seq.onTrade(trade(1));
    seq.onTrade(trade(2));
    seq.onTrade(trade(8));
    await seq.idle();
    expect(ids(out)).toEqual([1, 2, 3, 6, 7, 8]);
    expect(metrics.unfilledIds).toBe(2n);
  });

  it('does not consume an id the sink refused, so a later backfill fetches it again', async () => {
    let open = false;
    const rest = history(() => 6);
    const { out, seq } = setup(rest, () => open);
    seq.onTrade(trade(1));
    expect(out).toHaveLength(0);
    open = true;
    seq.onTrade(trade(1));
    seq.onTrade(trade(2));
    open = false;
    seq.onTrade(trade(3)); // refused: the journal was full
    open = true;
    seq.onTrade(trade(5));
    await seq.idle();
    expect(ids(out)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses an id outside the signed 64-bit range without releasing it or making it the last id', () => {
    const refused: Array<[bigint, string]> = [];
    const out: FeedTrade[] = [];
    const seq = new TradeSequencer({
      sink: { publishTrade: (t) => (out.push(t), true) },
      backfill: history(() => 0),
      metrics: new Counts(),
      logger,
      exchange: 'binance',
      onInvalidTrade: (t, reason) => refused.push([t.tradeId, reason]),
    });
    const huge = 2n ** 63n;
    seq.onTrade(trade(7));
    seq.onTrade({ ...trade(8), tradeId: huge, record: { ...base, trade_id: huge.toString(), source_sequence: huge } });
    seq.onTrade(trade(8));
    expect(ids(out)).toEqual([7, 8]);
    expect(seq.lastId(base.symbol)).toBe(8n);
    expect(refused).toEqual([[huge, 'trade id 9223372036854775808 is outside 0..9223372036854775807 (signed 64-bit)']]);
  });

  it('continues from a seeded resume point (the last trade found in Kafka)', async () => {
    const rest = history(() => 50);
    const { out, seq } = setup(rest);
    seq.seed(base.symbol, 45n, 0n);
    seq.onTrade(trade(44));
    seq.onTrade(trade(48));
    await seq.idle();
    expect(ids(out)).toEqual([46, 47, 48]);
  });
});
