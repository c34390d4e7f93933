import { ConfigError } from '@k2/core';
import { loadQueryApiConfig } from './config';
import { heapLimitMiB, heapLimitProblem, parseBytes, planMemory, SHARES, TAIL_RECORD_BYTES, type MemoryPlan } from './memory-budget';

const MiB = 1024 ** 2;
const env = (e: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ QUERY_AUTH: 'none', ...e });
const problems = (e: NodeJS.ProcessEnv): string[] => {
  try {
    loadQueryApiConfig(env(e), '/srv/k2');
    return [];
  } catch (err) {
    return err instanceof ConfigError ? [...err.problems] : [String(err)];
  }
};

describe('memory budget', () => {
  it('parses sizes the way DuckDB reads them (KB = 1000, KiB = 1024)', () => {
    expect(parseBytes('768MiB')).toBe(768 * MiB);
    expect(parseBytes('1GB')).toBe(1e9);
    expect(parseBytes('1.5 KiB')).toBe(1536);
    expect(parseBytes('4096')).toBe(4096);
    expect(() => parseBytes('lots')).toThrow(RangeError);
  });

  it('splits the default 768 MiB by the documented shares and leaves the rest for Node', () => {
    const c = loadQueryApiConfig(env({}), '/srv/k2');
    const budget = 768 * MiB;
    expect(c.memory.budget).toBe(budget);
    for (const [part, share] of Object.entries(SHARES)) expect(c.memory.parts[part as keyof typeof SHARES]).toBe(Math.floor(budget * share));
    expect(c.duckdbMemoryLimit).toBe(`${Math.floor((budget * SHARES.duckdb) / 1024)}KiB`);
    expect(c.tailMaxRecords).toBe(Math.floor((budget * SHARES.tail) / TAIL_RECORD_BYTES));
    expect(c.memory.sseClientBytes).toBe(Math.floor((budget * SHARES.sse) / 500));
    expect(Object.values(c.memory.parts).reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget * 0.95 + 1);
  });

  it('lets a part setting win over its share; the rest keep theirs; a bigger budget scales every share', () => {
    const c = loadQueryApiConfig(env({ QUERY_DUCKDB_MEMORY_LIMIT: '100MiB', QUERY_TAIL_MAX_RECORDS: '50000', QUERY_HOT_TIER_BYTES: '0' }), '/srv/k2');
    expect(c.memory.parts).toMatchObject({ duckdb: 100 * MiB, tail: 50_000 * TAIL_RECORD_BYTES, hot: 0, bars: Math.floor(768 * MiB * SHARES.bars) });
    expect(c.duckdbMemoryLimit).toBe('102400KiB');
    expect(c.tailMaxRecords).toBe(50_000);
    expect(loadQueryApiConfig(env({ QUERY_MEMORY_BUDGET: '4GiB' }), '/srv/k2').memory.parts.hot).toBe(Math.floor(4 * 1024 * MiB * SHARES.hot));
  });

  it('refuses to start, with one line, when the parts do not fit the budget', () => {
    const p = problems({ QUERY_DUCKDB_MEMORY_LIMIT: '1GB' });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^memory parts exceed QUERY_MEMORY_BUDGET=768MiB \(768 MiB\): duckdb 954 MiB \+ tail 154 MiB/);
    expect(problems({ QUERY_DUCKDB_MEMORY_LIMIT: '1GB', QUERY_MEMORY_BUDGET: '5GiB' })).toEqual([]);
    expect(typeof planMemory('100MiB', { hot: '200MiB' }, 10)).toBe('string');
    expect((planMemory('1GiB', {}, 1_000_000) as MemoryPlan).sseClientBytes).toBe(64 * 1024);
  });

  it('bounds the S3 download cache on disk with QUERY_CACHE_MAX_BYTES', () => {
    expect(loadQueryApiConfig(env({ QUERY_CACHE_MAX_BYTES: '10GiB' }), '/srv/k2').cacheMaxBytes).toBe(10 * 1024 * MiB);
    expect(problems({ QUERY_CACHE_MAX_BYTES: '0' })).toEqual(['QUERY_CACHE_MAX_BYTES must be positive']);
  });
});

describe('heap limit', () => {
  it('is 60 % of the budget, and a heap allowed to outgrow the budget is reported with the flag to pass', () => {
    expect(heapLimitMiB(768 * 1024 ** 2)).toBe(461);
    expect(heapLimitMiB(2 * 1024 ** 3)).toBe(1229);
    expect(heapLimitProblem(768 * 1024 ** 2, 461 * 1024 ** 2)).toBeUndefined();
    expect(heapLimitProblem(768 * 1024 ** 2, 4144 * 1024 ** 2)).toBe(
      'the V8 heap may grow to 4144 MiB, more than QUERY_MEMORY_BUDGET (768 MiB): garbage can push RSS past the budget before a full collection; start node with --max-old-space-size=461 (or NODE_OPTIONS)',
    );
  });
});
