import { randomUUID } from 'node:crypto';
import { IdFilter } from './id-filter';

describe('IdFilter (the dedup index per partition)', () => {
  it('holds more distinct ids than its budget could as a JS Set of strings, never missing one, rarely a false positive', () => {
    const n = 1_000_000;
    const f = new IdFilter();
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      f.add(id);
      if (i % 10 === 0) ids.push(id);
    }
    // A million 36-char ids as JS strings in a Set take > 60 MB (string header + payload + hash-table slot);
    // the filter takes 2 B per id in full blocks, up to ~4 B just after a new (doubled) block was opened.
    expect(f.bytes).toBeLessThanOrEqual(4.2 * n);
    expect(f.size).toBe(n);
    for (const id of ids) expect(f.mightHave(id)).toBe(true);
    let falsePositives = 0;
    const probes = 200_000;
    for (let i = 0; i < probes; i++) if (f.mightHave(randomUUID())) falsePositives++;
    // Each full block contributes ≈ 0.06 %; a handful of blocks stays well under 1 %.
    expect(falsePositives / probes).toBeLessThan(0.01);
  });

  it('grows block by block: an empty filter costs nothing, a small partition one 128 KiB block', () => {
    const f = new IdFilter();
    expect(f.bytes).toBe(0);
    expect(f.mightHave('x')).toBe(false);
    expect(f.nextBlockBytes).toBe(128 * 1024);
    f.add('x');
    expect(f.bytes).toBe(128 * 1024);
    expect(f.nextBlockBytes).toBe(0);
    expect(f.mightHave('x')).toBe(true);
  });
});
