import { createLogger, ErrorCode, TransientError } from '@k2/core';
import { serializeValue, type PlannedFile, type Schema } from '@k2/iceberg';
import { Registry } from 'prom-client';
import { Admission, QueryOverloadedError, QueryTooExpensiveError } from './admission';
import { classifyCost, DEFAULT_COST_LIMITS, estimateRows } from './cost';
import { QueryMetrics } from './metrics';
import { DeadlineExceededError, StorageGate } from './storage-gate';

const never = new AbortController().signal;
const tick = () => new Promise((r) => setImmediate(r));

describe('Admission', () => {
  const opts = { slots: 3, queue: 2, heavySlots: 1, heavyQueue: 1, retryAfterSeconds: 3 };

  it('lets light requests use every slot and heavy ones only theirs, then refuses with 503 + Retry-After', async () => {
    const a = new Admission(opts);
    const heavy = await a.enter('heavy', never);
    // The second heavy request waits (heavy slots taken), the third finds the heavy queue full.
    const waitingHeavy = a.enter('heavy', never);
    const full = await a.enter('heavy', never).catch((e: unknown) => e);
    expect(full).toBeInstanceOf(QueryOverloadedError);
    expect(full).toMatchObject({ code: ErrorCode.QUERY_OVERLOADED, status: 503, retryAfterSeconds: 3, retriable: false });
    // Light requests still get the two free slots at once.
    const l1 = await a.enter('light', never);
    const l2 = await a.enter('light', never);
    expect(a.stats).toEqual({ running: 3, runningHeavy: 1, waitingLight: 0, waitingHeavy: 1 });
    const queued = [a.enter('light', never), a.enter('light', never)];
    await expect(a.enter('light', never)).rejects.toBeInstanceOf(QueryOverloadedError);
    // A freed heavy slot goes to a waiting light request first.
    heavy();
    heavy(); // idempotent
    const l3 = await queued[0];
    expect(a.stats).toMatchObject({ running: 3, runningHeavy: 0, waitingLight: 1, waitingHeavy: 1 });
    l1();
    const l4 = await queued[1];
    l2();
    const h2 = await waitingHeavy;
    expect(a.stats).toEqual({ running: 3, runningHeavy: 1, waitingLight: 0, waitingHeavy: 0 });
    for (const r of [l3, l4, h2]) r();
    expect(a.stats.running).toBe(0);
  });

  it('a request aborted while waiting leaves the queue with the abort reason', async () => {
    const a = new Admission({ ...opts, slots: 1, heavySlots: 1 });
    const held = await a.enter('light', never);
    const ac = new AbortController();
    const waiting = a.enter('light', ac.signal);
    const reason = new DeadlineExceededError('request', 10);
    ac.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(a.stats.waitingLight).toBe(0);
    held();
    expect(a.stats.running).toBe(0);
  });
});

describe('cost', () => {
  const schema: Schema = { type: 'struct', 'schema-id': 0, fields: [{ id: 6, name: 'timestamp', required: true, type: 'timestamptz' }] };
  const DAY = 86_400_000_000n;
  const file = (day: number, rows: number, bounds = true): PlannedFile => ({
    specId: 0,
    sequenceNumber: 1,
    file: {
      content: 0,
      'file-path': `s3://b/t/${day}.parquet`,
      'file-format': 'PARQUET',
      partition: {},
      'record-count': rows,
      'file-size-in-bytes': rows * 40,
      ...(bounds
        ? {
            'lower-bounds': new Map([[6, serializeValue('timestamptz', BigInt(day) * DAY)]]),
            'upper-bounds': new Map([[6, serializeValue('timestamptz', BigInt(day + 1) * DAY - 1n)]]),
          }
        : {}),
    },
  });

  it('pro-rates each file by the share of its time range the window covers', () => {
    const files = [file(10, 1_000_000), file(11, 1_000_000), file(12, 500, false)];
    // A quarter of day 10 and half of day 11, plus the file without bounds in full.
    expect(estimateRows(files, schema, 10n * DAY + (3n * DAY) / 4n, 11n * DAY + DAY / 2n)).toBe(250_000 + 500_000 + 500);
    expect(estimateRows(files.slice(0, 2), schema, 20n * DAY, 21n * DAY)).toBe(0);
  });

  it('refuses a raw window above the cap with 422, naming what to narrow and a window that fits', () => {
    const w = { startUs: 0n, endUs: 31n * 1440n * 60_000_000n, parameter: 'start' };
    const err = (() => {
      try {
        classifyCost('raw', 50_000_000, w, DEFAULT_COST_LIMITS);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(QueryTooExpensiveError);
    expect(err).toMatchObject({ code: ErrorCode.QUERY_TOO_EXPENSIVE, status: 422, parameter: 'start' });
    // 5M of 50M rows fit: a tenth of 31 days.
    expect((err as Error).message).toContain('about 4464 minutes');
    // The same rows as an aggregate are allowed, and heavy.
    expect(classifyCost('aggregate', 50_000_000, w, DEFAULT_COST_LIMITS)).toBe('heavy');
    expect(classifyCost('raw', 1000, w, DEFAULT_COST_LIMITS)).toBe('light');
  });
});

describe('StorageGate', () => {
  const logger = createLogger({ service: 'query-spec', silent: true });

  it('a request that hits its own deadline never counts against the storage breaker; storage errors do', async () => {
    const gate = (metrics: QueryMetrics) => new StorageGate({ metrics, logger, breaker: { volumeThreshold: 2, resetMs: 60_000 } });
    const slowMetrics = new QueryMetrics(new Registry());
    const slow = gate(slowMetrics);
    const failing = gate(new QueryMetrics(new Registry()));
    try {
      for (let i = 0; i < 6; i++) {
        const job = slow.request((signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('interrupted')))), Date.now() + 20);
        await expect(job).rejects.toBeInstanceOf(DeadlineExceededError);
      }
      expect(slow.breakerState).toBe('closed');
      expect((await slowMetrics.degradation.get()).values.find((v) => v.labels['component'] === 'storage')?.value ?? 0).toBe(0);
      for (let i = 0; i < 2; i++) {
        const job = failing.request(async () => Promise.reject(new TransientError(ErrorCode.STORAGE_UNAVAILABLE, 'down')), Date.now() + 1000);
        await expect(job).rejects.toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE });
      }
      await tick();
      expect(failing.breakerState).toBe('open');
      // The refresh is not behind the open breaker: it runs, with its own budget.
      await expect(failing.refresh(async () => 'refreshed', 1000)).resolves.toBe('refreshed');
      await expect(failing.refresh(() => new Promise(() => undefined), 20)).rejects.toBeInstanceOf(DeadlineExceededError);
    } finally {
      slow.close();
      failing.close();
    }
  });
});
