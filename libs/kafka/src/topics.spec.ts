import { DATA_TOPIC_PATTERN, dataTopicListProblems, dlqTopic, parseTopic, PLATFORM_DATA_TOPICS, topicName } from './topics';

describe('topic names', () => {
  it('builds and parses market.<asset_class>.<data_type>.<exchange>', () => {
    expect(topicName({ assetClass: 'crypto', dataType: 'trades', exchange: 'binance' })).toBe('market.crypto.trades.binance');
    expect(topicName({ assetClass: 'equities', dataType: 'reference', exchange: 'asx' })).toBe('market.equities.reference.asx');
    expect(parseTopic('market.equities.quotes.asx')).toEqual({ assetClass: 'equities', dataType: 'quotes', exchange: 'asx', dlq: false });
    expect(parseTopic('market.crypto.trades.kraken.dlq')).toEqual({ assetClass: 'crypto', dataType: 'trades', exchange: 'kraken', dlq: true });
    expect(dlqTopic('market.crypto.trades.binance')).toBe('market.crypto.trades.binance.dlq');
  });

  it.each([
    ['market.Crypto.trades.binance', 'asset class'],
    ['market.crypto.trade.binance', 'data type'],
    ['market.crypto.trades.Binance', 'exchange'],
    ['market.crypto.trades', 'is not market.'],
    ['markets.crypto.trades.binance', 'is not market.'],
    ['market.crypto.trades.binance.extra', 'is not market.'],
    ['market.fx.trades.binance', 'asset class'],
  ])('rejects %s', (name, why) => {
    expect(() => parseTopic(name)).toThrow(why);
  });

  it('rejects a DLQ of a DLQ', () => {
    expect(() => dlqTopic('market.crypto.trades.binance.dlq')).toThrow('already a dead-letter topic');
  });

  it('subscription pattern matches data topics and never dead letters', () => {
    expect(DATA_TOPIC_PATTERN.test('market.crypto.trades.binance')).toBe(true);
    expect(DATA_TOPIC_PATTERN.test('market.equities.reference.asx')).toBe(true);
    expect(DATA_TOPIC_PATTERN.test('market.crypto.trades.binance.dlq')).toBe(false);
    expect(DATA_TOPIC_PATTERN.test('__consumer_offsets')).toBe(false);
  });

  it('the platform topics are canonical data topics', () => {
    expect(dataTopicListProblems('T', PLATFORM_DATA_TOPICS)).toEqual([]);
    expect(PLATFORM_DATA_TOPICS).toContain('market.crypto.trades.binance');
    expect(PLATFORM_DATA_TOPICS.every((t) => parseTopic(t).dlq === false)).toBe(true);
  });

  it('a subscription list names data topics only, each once', () => {
    expect(dataTopicListProblems('T', ['market.crypto.trades.binance.dlq'])).toEqual(['T: market.crypto.trades.binance.dlq is a dead-letter topic']);
    expect(dataTopicListProblems('T', ['market.crypto.trades.x', 'market.crypto.trades.x'])).toEqual(['T lists market.crypto.trades.x more than once']);
    expect(dataTopicListProblems('T', ['market.equities.reference.asx'], ['trades', 'quotes'])).toEqual([
      'T: market.equities.reference.asx is a reference topic; only trades|quotes are allowed',
    ]);
    expect(dataTopicListProblems('T', ['^market\\..*'])[0]).toContain('is not market.<asset_class>.<data_type>.<exchange>');
  });
});
