import { createHash } from 'node:crypto';
import { ErrorCode, TransientError, ValidationError } from '@k2/core';
import { boundedRaw, DEFAULT_DLQ_RAW_MAX_BYTES, deadLetterRecord } from './dead-letter';

describe('deadLetterRecord', () => {
  it('carries reason, code, the raw text with its length and SHA-256, service, exchange and the time in µs', () => {
    const raw = '{"e":"trade","p":"0"}';
    expect(deadLetterRecord({ error: new ValidationError('price must be > 0'), raw, service: 'binance-streamer', exchange: 'binance', receivedAtMicros: 1_700_000_000_000_001n })).toEqual({
      reason: 'price must be > 0',
      code: ErrorCode.VALIDATION_FAILED,
      raw,
      raw_encoding: 'utf8',
      raw_bytes: String(raw.length),
      raw_sha256: createHash('sha256').update(raw).digest('hex'),
      raw_truncated: 'false',
      exchange: 'binance',
      service: 'binance-streamer',
      received_at_us: '1700000000000001',
    });
  });

  it('keeps bytes as base64 with the source position, and cuts both kinds of input at the limit', () => {
    const value = Buffer.alloc(100, 7);
    const r = deadLetterRecord({ error: new TransientError(ErrorCode.SERDE_FAILED, 'x'), raw: value, service: 'iceberg-writer', source: { topic: 't', partition: 2, offset: 41 }, rawMaxBytes: 10 });
    expect(r).toMatchObject({ raw: value.subarray(0, 10).toString('base64'), raw_encoding: 'base64', raw_bytes: '100', raw_truncated: 'true', source_topic: 't', source_partition: 2, source_offset: 41 });
    expect(r.raw_sha256).toBe(createHash('sha256').update(value).digest('hex'));
    expect(r).not.toHaveProperty('exchange');
    expect(deadLetterRecord({ error: new Error('plain'), raw: 'x'.repeat(DEFAULT_DLQ_RAW_MAX_BYTES + 1), service: 's' })).toMatchObject({ code: ErrorCode.INTERNAL, raw_truncated: 'true' });
  });

  it('has no raw for a message without a value, and lets the caller name the reason', () => {
    expect(deadLetterRecord({ error: new ValidationError('tombstone'), raw: null, service: 's', reason: 'EMPTY' })).toMatchObject({ reason: 'EMPTY', raw: null, raw_bytes: '0', raw_sha256: '', raw_truncated: 'false' });
  });

  it('never splits a UTF-8 character', () => {
    expect(boundedRaw(`${'a'.repeat(255)}€€`, 257)).toMatchObject({ text: 'a'.repeat(255), bytes: 261, truncated: true });
  });
});
