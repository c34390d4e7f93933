import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DiskJournal } from './journal';

const entry = (i: number) => ({ topic: 'market.crypto.trades.binance', key: 'BTCUSDT', value: Buffer.from([0, 0, 0, 0, 1, i & 0xff, (i >> 8) & 0xff]) });

describe('DiskJournal', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k2-journal-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('replays entries oldest segment first, byte for byte, and survives a reopen', () => {
    const j = new DiskJournal({ dir, maxBytes: 1 << 20, segmentBytes: 200 });
    for (let i = 0; i < 20; i++) expect(j.append(entry(i))).toBe(true);
    j.close();
    const again = new DiskJournal({ dir, maxBytes: 1 << 20, segmentBytes: 200 });
    expect(again.size).toBe(20);
    const seen: Buffer[] = [];
    for (let seg = again.oldest(); seg; seg = again.oldest()) {
      seen.push(...seg.entries.map((e) => e.value));
      expect(seg.entries.every((e) => e.topic === 'market.crypto.trades.binance' && e.key === 'BTCUSDT')).toBe(true);
      seg.remove();
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => entry(i).value));
    expect(again.isEmpty()).toBe(true);
    expect(again.bytes).toBe(0);
  });

  it('refuses appends when full unless forced, and keeps only unacknowledged entries on retain', () => {
    const j = new DiskJournal({ dir, maxBytes: 150 });
    let accepted = 0;
    while (j.append(entry(accepted))) accepted++;
    expect(accepted).toBeGreaterThan(0);
    expect(j.full).toBe(true);
    expect(j.append(entry(99), true)).toBe(true);
    const seg = j.oldest();
    expect(seg?.entries).toHaveLength(accepted + 1);
    seg?.retain([entry(99)]);
    expect(j.size).toBe(1);
    expect(j.full).toBe(false);
    expect(j.oldest()?.entries.map((e) => e.value)).toEqual([entry(99).value]);
  });

  it('skips a torn last line left by a crash', () => {
    const j = new DiskJournal({ dir, maxBytes: 1 << 20 });
    j.append(entry(1));
    j.close();
    const file = fs.readdirSync(dir)[0] as string;
    fs.appendFileSync(path.join(dir, file), 'market.crypto.trades.binance\tBTC');
    const again = new DiskJournal({ dir, maxBytes: 1 << 20 });
    expect(again.oldest()?.entries.map((e) => e.value)).toEqual([entry(1).value]);
  });
});
