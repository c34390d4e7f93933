import { DEFAULT_MEMORY_BUDGET, parseBytes, splitMemoryBudget, type MemoryBudget } from './budget';

describe('memory budget', () => {
  it('parses sizes with binary and decimal units', () => {
    expect(parseBytes('768MiB')).toBe(768 * 1024 ** 2);
    expect(parseBytes('1GiB')).toBe(1024 ** 3);
    expect(parseBytes('512MB')).toBe(512e6);
    expect(parseBytes('1073741824')).toBe(1024 ** 3);
    expect(parseBytes('lots')).toBeUndefined();
    expect(parseBytes('12 parsecs')).toBeUndefined();
  });

  it('splits the default so the shares add up to the total and fit a 1 GiB container', () => {
    const m = splitMemoryBudget(DEFAULT_MEMORY_BUDGET) as MemoryBudget;
    expect(m.buffers + m.dedup + m.duckdb + m.runtime).toBe(DEFAULT_MEMORY_BUDGET);
    expect(m.total).toBeLessThan(1024 ** 3);
    expect(m.buffers).toBeGreaterThan(m.duckdb);
  });

  it('refuses an impossible combination with one line', () => {
    expect(splitMemoryBudget(256 * 1024 ** 2)).toMatch(/^WRITER_MEMORY_BUDGET=256MiB is too small: .* below the minimum 32MiB$/);
    expect(splitMemoryBudget(1024 ** 3, { duckdb: 900 * 1024 ** 2 })).toMatch(/too small/);
  });
});
