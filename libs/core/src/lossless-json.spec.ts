import {
  ErrorCode,
  isLosslessNumber,
  JsonParseError,
  LOSSLESS_JSON_MAX_DEPTH,
  LosslessNumber,
  parseLosslessJson,
  stringifyLossless,
  ValidationError,
  type LosslessJson,
} from './index';

/** The tree with every LosslessNumber replaced by its text, for structural comparison. */
function plain(v: LosslessJson): unknown {
  if (v instanceof LosslessNumber) return { num: v.value };
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

/** The tree with numbers converted the way JSON.parse converts them. */
function asJsonParse(v: LosslessJson): unknown {
  if (v instanceof LosslessNumber) return Number(v.value);
  if (Array.isArray(v)) return v.map(asJsonParse);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = asJsonParse(x);
    return out;
  }
  return v;
}

function parseError(text: string): JsonParseError {
  try {
    parseLosslessJson(text);
  } catch (e) {
    if (e instanceof JsonParseError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseLosslessJson: numbers keep their source text', () => {
  it('keeps Kraken prices, quantities and ids digit for digit', () => {
    const v = parseLosslessJson('{"price":65000.12345678,"qty":0.00012345,"connection_id":14858525998463770613}') as Record<string, LosslessNumber>;
    expect(v['price']!.value).toBe('65000.12345678');
    expect(v['qty']!.value).toBe('0.00012345');
    expect(v['connection_id']!.value).toBe('14858525998463770613');
    expect(v['connection_id']!.toBigInt()).toBe(14858525998463770613n);
    // What JSON.parse would have done to the same id:
    expect(String(JSON.parse('14858525998463770613'))).toBe('14858525998463770000');
  });

  it.each([
    ['0'],
    ['-0'],
    ['40.0'],
    ['-1.5'],
    ['1e10'],
    ['1E+2'],
    ['-2.5e-7'],
    ['0.1e-0'],
    ['123456789012345678901234567890'],
    ['1.0000000000000000000000001'],
  ])('number %s', (text) => {
    const v = parseLosslessJson(text);
    expect(isLosslessNumber(v)).toBe(true);
    expect((v as LosslessNumber).value).toBe(text);
    expect(String(v)).toBe(text);
  });

  it('tells integers from non-integers as written', () => {
    expect(new LosslessNumber('42').isInteger()).toBe(true);
    expect(new LosslessNumber('-7').isInteger()).toBe(true);
    expect(new LosslessNumber('40.0').isInteger()).toBe(false);
    expect(new LosslessNumber('1e3').isInteger()).toBe(false);
    expect(() => new LosslessNumber('1.5').toBigInt()).toThrow(ValidationError);
  });

  it('serialises numbers exactly: bare with stringifyLossless, quoted with JSON.stringify', () => {
    const text = '{"a":[1,-2.50,3e5,{"b":null,"c":true,"d":"x\\"y"}],"id":14858525998463770613}';
    const v = parseLosslessJson(text);
    expect(stringifyLossless(v)).toBe(text);
    expect(JSON.stringify(v)).toBe('{"a":["1","-2.50","3e5",{"b":null,"c":true,"d":"x\\"y"}],"id":"14858525998463770613"}');
    expect(stringifyLossless({ n: 5n, f: 1.5, u: undefined, inf: Infinity })).toBe('{"n":5,"f":1.5,"inf":null}');
  });
});

describe('parseLosslessJson: structure matches JSON.parse', () => {
  it.each([
    ['null', null],
    ['true', true],
    ['false', false],
    ['""', ''],
    ['"abc"', 'abc'],
    ['[]', []],
    ['{}', {}],
    [' \t\r\n[ 1 , [ ] , { } ]\n', [{ num: '1' }, [], {}]],
    ['{"a":{"b":{"c":[[["deep"]]]}}}', { a: { b: { c: [[['deep']]] } } }],
  ])('%s', (text, expected) => {
    expect(plain(parseLosslessJson(text))).toEqual(expected);
  });

  it('decodes every escape, including \\u escapes and surrogate pairs', () => {
    const text = String.raw`"q\" b\\ s\/ \b\f\n\r\t \u00e9 \u20AC \ud83d\ude00 lone:\ud800 end"`;
    expect(parseLosslessJson(text)).toBe(JSON.parse(text));
    expect(parseLosslessJson(String.raw`"\u0041BC"`)).toBe('ABC');
    expect(parseLosslessJson('"é€😀"')).toBe('é€😀');
  });

  it('lets the last duplicate key win and never swaps prototypes on "__proto__"', () => {
    const v = parseLosslessJson('{"a":1,"a":2,"__proto__":{"polluted":true}}') as Record<string, unknown>;
    expect((v['a'] as LosslessNumber).value).toBe('2');
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['a', '__proto__']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('agrees with JSON.parse on generated documents', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const gen = (depth: number): unknown => {
      switch (rnd(depth > 3 ? 5 : 7)) {
        case 0:
          return null;
        case 1:
          return rnd(2) === 0;
        case 2:
          return (rnd(2000000) - 1000000) / 10 ** rnd(9);
        case 3:
          return ['', 'a', 'é', '"quoted"', 'line\nbreak', '\u0001', 'tab\t', '😀'][rnd(8)];
        case 4:
          return rnd(1e9) * 1e-3;
        case 5:
          return Array.from({ length: rnd(4) }, () => gen(depth + 1));
        default: {
          const o: Record<string, unknown> = {};
          for (let k = rnd(4); k > 0; k--) o[`k${rnd(10)}`] = gen(depth + 1);
          return o;
        }
      }
    };
    for (let n = 0; n < 500; n++) {
      const text = JSON.stringify(gen(0), null, rnd(2) ? 2 : undefined);
      expect(asJsonParse(parseLosslessJson(text))).toEqual(JSON.parse(text));
    }
  });
});

describe('parseLosslessJson: invalid input is a ValidationError naming the place', () => {
  it.each([
    ['', 'unexpected end of input'],
    ['   ', 'unexpected end of input'],
    ['{', 'expected a string key'],
    ['{"a"', "expected ':'"],
    ['{"a":', 'unexpected end of input'],
    ['{"a":1', "expected ',' or '}'"],
    ['{"a":1,}', 'expected a string key'],
    ['{a:1}', 'expected a string key'],
    ["{'a':1}", 'expected a string key'],
    ['[1,]', 'expected a value'],
    ['[1 2]', "expected ',' or ']'"],
    ['"abc', 'unterminated string'],
    ['"a\\', 'unterminated string'],
    ['"a\nb"', 'unescaped control character U+000A'],
    ['"\\x"', 'invalid escape \\x'],
    ['"\\u12G4"', 'invalid \\u escape'],
    ['"\\u12"', 'invalid \\u escape'],
    ['01', 'leading zeros'],
    ['-', 'expected a digit'],
    ['-a', 'expected a digit'],
    ['1.', "expected a digit after '.'"],
    ['.5', 'expected a value'],
    ['1e', 'expected a digit in the exponent'],
    ['1e+', 'expected a digit in the exponent'],
    ['+1', 'expected a value'],
    ['NaN', 'expected a value'],
    ['Infinity', 'expected a value'],
    ['tru', 'expected true'],
    ['nul', 'expected null'],
    ['{} {}', 'unexpected content after the JSON value'],
    ['[1]x', 'unexpected content after the JSON value'],
    ['\uFEFF{}', 'expected a value'],
  ])('%j → %s', (text, reason) => {
    const err = parseError(text);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.code).toBe(ErrorCode.JSON_INVALID);
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(reason);
    // JSON.parse agrees that these are invalid.
    expect(() => JSON.parse(text)).toThrow();
  });

  it('reports position, line and column', () => {
    const err = parseError('{\n  "price": 1.5,\n  "qty": x\n}');
    expect(err.position).toBe(27);
    expect(err.message).toMatch(/^invalid JSON at position 27 \(line 3, column 10\): unexpected character "x"; expected a value; near /);
    expect(err.context).toMatchObject({ position: 27, line: 3, column: 10 });
  });

  it('rejects nesting past the depth limit instead of overflowing the stack', () => {
    const ok = '['.repeat(LOSSLESS_JSON_MAX_DEPTH) + ']'.repeat(LOSSLESS_JSON_MAX_DEPTH);
    expect(Array.isArray(parseLosslessJson(ok))).toBe(true);
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(parseError(deep).message).toContain(`nesting deeper than ${LOSSLESS_JSON_MAX_DEPTH}`);
  });

  it('rejects non-string input', () => {
    expect(() => parseLosslessJson(undefined as unknown as string)).toThrow(/JSON input must be a string, got undefined/);
  });
});
