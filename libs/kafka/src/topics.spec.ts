import { DATA_TOPIC_PATTERN, dlqTopic, parseTopic, topicName } from './topics';

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
});
