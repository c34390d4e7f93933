import Kafka from 'node-rdkafka';
import { ConfigError } from '@k2/core';
import { CODEC_FIX, requireCodec, TOPIC_CODEC } from './codecs';

describe('requireCodec', () => {
  const withoutZstd = ['gzip', 'snappy', 'ssl', 'lz4'];

  it('passes when librdkafka has the codec, and for no compression at all', () => {
    expect(() => requireCodec('zstd', 'consumer', 'query-api', [...withoutZstd, 'zstd'])).not.toThrow();
    expect(() => requireCodec('lz4', 'producer', 'asx', withoutZstd)).not.toThrow();
    expect(() => requireCodec('none', 'producer', 'asx', [])).not.toThrow();
  });

  it('names the missing codec, why it is needed and the fix in one line', () => {
    let error: unknown;
    try {
      requireCodec(TOPIC_CODEC, 'consumer', 'query-api-tail', withoutZstd);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('kafka client query-api-tail');
    expect(message).toContain('built without zstd');
    expect(message).toContain('stored zstd-compressed');
    expect(message).toContain(CODEC_FIX);
    expect(CODEC_FIX).toContain('apt-get install libzstd-dev && npm rebuild node-rdkafka');
  });

  it('says a producer needs the codec to compress', () => {
    expect(() => requireCodec('zstd', 'producer', 'binance-streamer', withoutZstd)).toThrow(/producer compresses with zstd \(compression\.codec\)/);
  });

  it('consults the installed node-rdkafka by default (built with zstd here, as setup requires)', () => {
    expect(Kafka.features).toContain('zstd');
    expect(() => requireCodec('zstd', 'consumer', 'default-features')).not.toThrow();
  });
});
