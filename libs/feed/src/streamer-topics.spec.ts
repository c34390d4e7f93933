import { streamerTopics } from './streamer';
import type { ExchangeAdapter } from './types';

const adapter = { topics: { trades: 'market.crypto.trades.binance', quotes: 'market.crypto.quotes.binance' } } as ExchangeAdapter;

describe('streamer topics', () => {
  it('are the adapter’s platform topics unless FEED_TOPIC_EXCHANGE is set', () => {
    expect(streamerTopics(adapter, undefined)).toEqual({ trades: 'market.crypto.trades.binance', quotes: 'market.crypto.quotes.binance' });
  });

  it('keep asset class and data type and swap the exchange segment (scratch topics of tests and benches)', () => {
    expect(streamerTopics(adapter, 'k2testbinanceabc')).toEqual({
      trades: 'market.crypto.trades.k2testbinanceabc',
      quotes: 'market.crypto.quotes.k2testbinanceabc',
    });
  });

  it('reject an exchange segment the topic-name rule does not allow', () => {
    expect(() => streamerTopics(adapter, 'Bad.Name')).toThrow('must be lowercase letters');
  });
});
