import {
  compareDecimal,
  decodeDecimalBytes,
  DecimalError,
  encodeDecimalBytes,
  parseDecimal,
  unscaledToTwosComplement,
} from './decimal';

describe('parseDecimal', () => {
  it.each([
    // Binance @trade "p"/"q" text, Kraken raw number text, ASX CSV text
    ['0.001', '0.00100000'],
    ['100', '100.00000000'],
    ['42156.12345678', '42156.12345678'],
    ['97512.10000000', '97512.10000000'],
    ['45.670', '45.67000000'],
    ['0.00000001', '0.00000001'],
    ['9999999999.99999999', '9999999999.99999999'],
    ['1.5e3', '1500.00000000'],
    ['1E-8', '0.00000001'],
    ['0.123456780000', '0.12345678'],
    ['.5', '0.50000000'],
    ['+7', '7.00000000'],
    ['-0.00', '0.00000000'],
  ])('accepts %s as %s', (raw, canonical) => {
    expect(parseDecimal('price', raw, 'price')).toBe(canonical);
  });

  it.each([
    ['', 'is empty'],
    ['NaN', 'is not a decimal number'],
    ['Infinity', 'is not a decimal number'],
    ['-Infinity', 'is not a decimal number'],
    ['1e400', 'exponent is out of range'],
    ['1e10', 'more than 10 integer digits'],
    ['12345678901', 'more than 10 integer digits'],
    ['0.123456789', 'more than 8 significant fraction digits'],
    ['1e-9', 'more than 8 significant fraction digits'],
    ['0x10', 'is not a decimal number'],
    [' 1.0', 'is not a decimal number'],
    ['1,5', 'is not a decimal number'],
  ])('rejects %j (%s) naming field and value', (raw, reason) => {
    let err: unknown;
    try {
      parseDecimal('price', raw, 'price');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DecimalError);
    const de = err as DecimalError;
    expect(de.message).toContain('price');
    expect(de.message).toContain(JSON.stringify(raw));
    expect(de.message).toContain(reason);
    expect(de.code).toBe('K2_DECIMAL_INVALID');
    expect(de.retriable).toBe(false);
  });

  it('rejects negative prices and zero or negative trade quantities', () => {
    expect(() => parseDecimal('price', '-1.5', 'price')).toThrow('price: "-1.5" must not be negative');
    expect(() => parseDecimal('quantity', '0', 'quantity')).toThrow('quantity: "0" must be greater than zero');
    expect(() => parseDecimal('quantity', '0.00000000', 'quantity')).toThrow('must be greater than zero');
    expect(() => parseDecimal('quantity', '-2', 'quantity')).toThrow('must not be negative');
    expect(parseDecimal('bid_quantity', '0', 'size')).toBe('0.00000000');
    expect(parseDecimal('spread', '-2', 'signed')).toBe('-2.00000000');
  });

  it('refuses JS numbers: precision was already lost', () => {
    expect(() => parseDecimal('price', 0.1 as unknown as string)).toThrow('must be decimal text, got number');
  });
});

describe('Avro decimal bytes', () => {
  it.each([
    ['0.00000000', '00'],
    ['0.00000001', '01'],
    ['0.00000127', '7f'],
    ['0.00000128', '0080'],
    ['-0.00000001', 'ff'],
    ['-0.00000128', '80'],
    ['-0.00000129', 'ff7f'],
    // 42156.12345678 -> unscaled 4215612345678 = 0x03D586138D4E
    ['42156.12345678', '03d586138d4e'],
    ['9999999999.99999999', '0de0b6b3a763ffff'],
    ['-9999999999.99999999', 'f21f494c589c0001'],
  ])('%s <-> %s (big-endian two\'s complement of the unscaled value)', (d, hex) => {
    expect(encodeDecimalBytes(d).toString('hex')).toBe(hex);
    expect(decodeDecimalBytes(Buffer.from(hex, 'hex'))).toBe(d);
  });

  it('round-trips exactly across magnitudes and signs', () => {
    const samples = ['1.00000000', '97512.10000000', '0.00100000', '123456789.12345678', '-5.50000000'];
    for (let i = 0; i < 2000; i++) {
      const intPart = String(Math.floor(Math.random() * 1e10));
      const frac = String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
      samples.push(`${i % 3 === 0 ? '-' : ''}${intPart}.${frac}`);
    }
    for (const s of samples) {
      const canon = parseDecimal('v', s);
      expect(decodeDecimalBytes(encodeDecimalBytes(canon))).toBe(canon);
    }
  });

  it('decodes bytes produced by a longer sign extension (Java may pad)', () => {
    expect(decodeDecimalBytes(Buffer.from('0000000001', 'hex'))).toBe('0.00000001');
    expect(decodeDecimalBytes(Buffer.from('ffffffffffffffffff', 'hex'))).toBe('-0.00000001');
  });

  it('never emits a redundant sign byte', () => {
    for (const v of [0n, 1n, 127n, 128n, 255n, 256n, -1n, -128n, -129n, 32767n, 32768n]) {
      const b = unscaledToTwosComplement(v);
      if (b.length > 1) {
        const redundant = (b[0] === 0 && (b[1]! & 0x80) === 0) || (b[0] === 0xff && (b[1]! & 0x80) !== 0);
        expect(redundant).toBe(false);
      }
    }
  });

  it('compares exactly', () => {
    expect(compareDecimal('0.00000001', '0.00000002')).toBe(-1);
    expect(compareDecimal('9999999999.99999999', '9999999999.99999998')).toBe(1);
    expect(compareDecimal('1.00000000', '1')).toBe(0);
  });
});
