import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DownloadCache } from './download-cache';

describe('DownloadCache', () => {
  let dir: string;
  let clock: number;
  const now = () => clock;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-dlcache-'));
    fs.mkdirSync(path.join(dir, 'bucket'));
    clock = 1_000_000;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const put = (name: string, size: number): string => {
    const file = path.join(dir, 'bucket', name);
    fs.writeFileSync(file, Buffer.alloc(size, 1));
    return file;
  };

  it('deletes the least recently used copies once the byte cap is exceeded, and never one used within minAgeMs', async () => {
    const cache = new DownloadCache(dir, { maxBytes: 250, minAgeMs: 1000, now });
    const a = put('a.parquet', 100);
    await cache.lookup(a);
    await cache.add(a, 100);
    clock += 2000;
    const b = put('b.parquet', 100);
    await cache.add(b, 100);
    clock += 2000;
    expect(await cache.lookup(a)).toBe(100); // a is now the most recent, b the least
    clock += 2000;
    const c = put('c.parquet', 100);
    await cache.add(c, 100);
    expect(fs.existsSync(b)).toBe(false);
    expect(fs.existsSync(a)).toBe(true);
    expect(fs.existsSync(c)).toBe(true);
    expect(cache.stats()).toEqual({ files: 2, bytes: 200, maxBytes: 250, evictedFiles: 1, evictedBytes: 100 });

    // Everything used within the grace: the cap is exceeded rather than a path in use deleted.
    const d = put('d.parquet', 100);
    await cache.lookup(a);
    await cache.add(d, 100);
    expect(cache.stats()).toMatchObject({ files: 3, bytes: 300, evictedFiles: 1 });
    expect([a, c, d].every((f) => fs.existsSync(f))).toBe(true);
    // Once the grace has passed, the next add brings it back under the cap, least recently used (c) first.
    clock += 2000;
    const e = put('e.parquet', 50);
    await cache.add(e, 50);
    expect(fs.existsSync(c)).toBe(false);
    expect([a, d, e].every((f) => fs.existsSync(f))).toBe(true);
    expect(cache.stats()).toMatchObject({ files: 3, bytes: 250, evictedFiles: 2, evictedBytes: 200 });
  });

  it('adopts an earlier process\'s copies oldest first, checks them before use and removes only stale temp files', async () => {
    const old = put('old.parquet', 100);
    const newer = put('newer.parquet', 100);
    const staleTmp = put('x.parquet.1.aa.tmp', 10);
    const freshTmp = put('y.parquet.2.bb.tmp', 10);
    fs.utimesSync(old, new Date(1_000), new Date(1_000));
    fs.utimesSync(newer, new Date(2_000), new Date(2_000));
    fs.utimesSync(staleTmp, new Date(1_000), new Date(1_000));
    clock = 2_000 + 20 * 60_000; // the stale temp file is older than 10 minutes, the fresh one is from now
    const cache = new DownloadCache(dir, { maxBytes: 150, minAgeMs: 1000, now });
    // Adopted copies count against the cap (the oldest goes) but are not trusted without a check.
    expect(await cache.lookup(newer)).toBeUndefined();
    expect(fs.existsSync(old)).toBe(false);
    expect(fs.existsSync(newer)).toBe(true);
    expect(fs.existsSync(staleTmp)).toBe(false);
    expect(fs.existsSync(freshTmp)).toBe(true);
    await cache.add(newer, 100);
    expect(await cache.lookup(newer)).toBe(100);
    expect(cache.stats()).toMatchObject({ files: 1, bytes: 100, evictedFiles: 1 });
  });

  it('forgets a copy so a replacement is counted once', async () => {
    const cache = new DownloadCache(dir, { maxBytes: 1000, now });
    const a = put('a.parquet', 100);
    await cache.lookup(a);
    await cache.add(a, 100);
    cache.forget(a);
    await cache.add(a, 100);
    expect(cache.stats()).toMatchObject({ files: 1, bytes: 100 });
  });
});
