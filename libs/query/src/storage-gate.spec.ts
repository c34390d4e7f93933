import { createLogger, ErrorCode, TransientError } from '@k2/core';
import { Registry } from 'prom-client';
import { QueryMetrics } from './metrics';
import { StorageGate } from './storage-gate';

const logger = createLogger({ service: 'query-spec', silent: true });
const down = () => Promise.reject(new TransientError(ErrorCode.STORAGE_UNAVAILABLE, 'connect ECONNREFUSED 127.0.0.1:9000'));

async function storageLevel(metrics: QueryMetrics): Promise<number> {
  return (await metrics.degradation.get()).values.find((v) => v.labels['component'] === 'storage')?.value ?? 0;
}

describe('StorageGate: k2_degradation_level{component="storage"}', () => {
  let metrics: QueryMetrics;
  let gate: StorageGate;
  beforeEach(() => {
    metrics = new QueryMetrics(new Registry());
    gate = new StorageGate({ metrics, logger, breaker: { volumeThreshold: 3, resetMs: 60_000 } });
  });
  afterEach(() => gate.close());

  // Issue 18: with the object store stopped, the refresh failed every second while requests served from the local
  // file cache succeeded and reset the gauge, so K2QueryStorageDegraded (for: 2m) never fired.
  it('a failing refresh stays degraded while requests succeed from the local cache', async () => {
    await expect(gate.refresh(down, 1000)).rejects.toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE });
    expect(await storageLevel(metrics)).toBe(2);
    for (let i = 0; i < 5; i++) {
      await expect(gate.request(async () => 'from cache', Date.now() + 1000)).resolves.toBe('from cache');
      expect(await storageLevel(metrics)).toBe(2);
    }
    await expect(gate.refresh(async () => 'refreshed', 1000)).resolves.toBe('refreshed');
    expect(await storageLevel(metrics)).toBe(0);
  });

  it('failing reads stay degraded while the refresh succeeds; a successful read clears them', async () => {
    await expect(gate.request(down, Date.now() + 1000)).rejects.toMatchObject({ code: ErrorCode.STORAGE_UNAVAILABLE });
    expect(await storageLevel(metrics)).toBe(2);
    await gate.refresh(async () => 'refreshed', 1000);
    expect(await storageLevel(metrics)).toBe(2);
    await gate.request(async () => 'read', Date.now() + 1000);
    expect(await storageLevel(metrics)).toBe(0);
  });

  // The itest found it: the trades refresh failed on the stopped store, the quotes table did not exist yet (an empty
  // table, a success), and each quotes refresh cleared what trades had raised.
  it('one table refreshing fine does not clear another table failing', async () => {
    await expect(gate.refresh(down, 1000, 'trades')).rejects.toThrow();
    await gate.refresh(async () => 'no table yet', 1000, 'quotes');
    expect(await storageLevel(metrics)).toBe(2);
    await gate.refresh(async () => 'back', 1000, 'trades');
    expect(await storageLevel(metrics)).toBe(0);
  });

  it('a refresh that runs out of its budget is a storage failure', async () => {
    await expect(gate.refresh(() => new Promise(() => undefined), 20)).rejects.toMatchObject({ code: ErrorCode.TIMEOUT });
    await gate.request(async () => 'from cache', Date.now() + 1000);
    expect(await storageLevel(metrics)).toBe(2);
  });
});
