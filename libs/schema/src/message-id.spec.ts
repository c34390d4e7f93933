import { messageId, uuidV5 } from './message-id';

describe('uuidV5', () => {
  it('matches the RFC 9562 test vector (DNS namespace, "www.example.com")', () => {
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(uuidV5('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('messageId', () => {
  it('is deterministic for a re-ingested trade and distinct otherwise', () => {
    const a = messageId('BINANCE', 'BTCUSDT', '4839201');
    expect(messageId('binance', 'btcusdt', '4839201')).toBe(a);
    expect(messageId('BINANCE', 'BTCUSDT', '4839202')).not.toBe(a);
    expect(messageId('KRAKEN', 'BTCUSDT', '4839201')).not.toBe(a);
    expect(messageId('BINANCE', 'BTCUSDT', '4839201', 'quote')).not.toBe(a);
    expect(messageId('A', 'BC', '1')).not.toBe(messageId('AB', 'C', '1'));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
