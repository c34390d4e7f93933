import { readSchemaId, writeHeader } from './wire-format';

describe('Confluent wire format', () => {
  it('writes and reads magic byte + big-endian schema id', () => {
    const buf = Buffer.alloc(9);
    writeHeader(buf, 0x01020304);
    expect(buf.subarray(0, 5).toString('hex')).toBe('0001020304');
    expect(readSchemaId(buf)).toBe(0x01020304);
    writeHeader(buf, 4294967295);
    expect(readSchemaId(buf)).toBe(4294967295);
  });

  it('rejects short messages and a wrong magic byte with a validation error', () => {
    expect(() => readSchemaId(Buffer.from([0, 0, 1]))).toThrow('too short');
    expect(() => readSchemaId(Buffer.from('{"p":"1"}'))).toThrow('unknown magic byte 123');
  });
});
