import { parseTopic, PLATFORM_DATA_TOPICS, topicName } from '@k2/kafka';
import { isScratchTopic, scratchExchange, SCRATCH_PREFIXES } from '@k2/testing';

describe('scratch topics of benchmarks and tests', () => {
  it('are canonical topic names with a k2bench/k2test exchange', () => {
    const bench = scratchExchange('bench', 'streamer');
    const test = scratchExchange('test', 'e2eb');
    expect(bench).toMatch(/^k2benchstreamer[a-z0-9]+$/);
    expect(test).toMatch(/^k2teste2eb[a-z0-9]+$/);
    expect(scratchExchange('bench')).not.toBe(scratchExchange('bench'));
    const topic = topicName({ assetClass: 'crypto', dataType: 'trades', exchange: bench });
    expect(parseTopic(topic).exchange).toBe(bench);
    expect(isScratchTopic(topic)).toBe(true);
    expect(isScratchTopic(`${topic}.dlq`)).toBe(true);
  });

  it('never name a platform topic, and the platform list holds none of them', () => {
    expect(PLATFORM_DATA_TOPICS.filter(isScratchTopic)).toEqual([]);
    expect(isScratchTopic('market.crypto.trades.binance')).toBe(false);
    expect(isScratchTopic('market.crypto.trades.k2')).toBe(false);
    expect(SCRATCH_PREFIXES).toEqual(['k2bench', 'k2test']);
  });

  it('refuse a label that would make the exchange longer than a topic allows', () => {
    expect(() => scratchExchange('bench', 'a'.repeat(30))).toThrow('longer than 32 characters');
  });
});
