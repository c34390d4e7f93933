import { ErrorCode, ValidationError } from './errors';

/**
 * Lossless JSON (RFC 8259): every number keeps its exact source text, so values that a JS number would round
 * (Kraken's `"price": 65000.12345678`, `"connection_id": 14858525998463770613`) survive untouched. Strings,
 * booleans, null, arrays and objects come out as JSON.parse would give them; duplicate keys: the last one wins,
 * as in JSON.parse. A hand-written single-pass scanner (charCodeAt, no regex) because the streamers parse every
 * frame with it on the hot path.
 */
export class LosslessNumber {
  /** The number exactly as written in the source, e.g. "0.00012345", "-1.5e-7", "14858525998463770613". */
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  /** True when the text has no fraction and no exponent ("42", "-7"), i.e. it is an integer as written. */
  isInteger(): boolean {
    const v = this.value;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x2e || c === 0x65 || c === 0x45) return false; // . e E
    }
    return true;
  }

  /** Exact integer value; throws a ValidationError when the text is not an integer as written. */
  toBigInt(): bigint {
    if (!this.isInteger()) {
      throw new ValidationError(`not an integer: ${this.value}`, { code: ErrorCode.JSON_INVALID, context: { value: this.value } });
    }
    return BigInt(this.value);
  }

  toString(): string {
    return this.value;
  }

  /** JSON.stringify of a parsed tree writes numbers as quoted text: exact, never rounded (use stringifyLossless to keep them bare). */
  toJSON(): string {
    return this.value;
  }
}

export type LosslessJson = null | boolean | string | LosslessNumber | LosslessJson[] | LosslessObject;
export interface LosslessObject {
  [key: string]: LosslessJson;
}

export function isLosslessNumber(v: unknown): v is LosslessNumber {
  return v instanceof LosslessNumber;
}

export class JsonParseError extends ValidationError {
  /** Offset (UTF-16 code units) of the offending character in the text. */
  readonly position: number;
  constructor(text: string, position: number, reason: string) {
    const { line, column } = lineAndColumn(text, position);
    super(`invalid JSON at position ${position} (line ${line}, column ${column}): ${reason}; near ${excerpt(text, position)}`, {
      code: ErrorCode.JSON_INVALID,
      context: { position, line, column },
    });
    this.position = position;
  }
}

/** Nesting deeper than this is rejected instead of risking a stack overflow on hostile input. */
export const LOSSLESS_JSON_MAX_DEPTH = 512;

/** Parses JSON text; numbers become LosslessNumber. Throws JsonParseError (a ValidationError) on any invalid input. */
export function parseLosslessJson(text: string): LosslessJson {
  if (typeof text !== 'string') {
    throw new ValidationError(`JSON input must be a string, got ${text === null ? 'null' : typeof text}`, { code: ErrorCode.JSON_INVALID });
  }
  const p = new Parser(text);
  const value = p.value(0);
  p.skipWs();
  if (p.i < text.length) p.fail(p.i, 'unexpected content after the JSON value');
  return value;
}

/** JSON text of a lossless tree with numbers written bare and exact (for logs and DLQ records); bigint is accepted too. */
export function stringifyLossless(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof LosslessNumber) return value.value;
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    default:
      break;
  }
  if (Array.isArray(value)) return `[${value.map((v) => stringifyLossless(v)).join(',')}]`;
  if (typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined || typeof v === 'function') continue;
      parts.push(`${JSON.stringify(k)}:${stringifyLossless(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return 'null';
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

const KEY_CACHE_SIZE = 256;
const keyCache: Array<string | undefined> = new Array<string | undefined>(KEY_CACHE_SIZE).fill(undefined);

class Parser {
  i = 0;
  private readonly s: string;
  private readonly n: number;

  constructor(s: string) {
    this.s = s;
    this.n = s.length;
  }

  skipWs(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      // RFC 8259 §2: space, tab, line feed, carriage return; nothing else.
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): LosslessJson {
    this.skipWs();
    const i = this.i;
    if (i >= this.n) this.fail(i, 'unexpected end of input; expected a value');
    const c = this.s.charCodeAt(i);
    switch (c) {
      case LBRACE:
        return this.object(depth + 1);
      case LBRACKET:
        return this.array(depth + 1);
      case QUOTE:
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === MINUS || isDigit(c)) return this.number();
        return this.fail(i, `unexpected ${describe(this.s, i)}; expected a value`);
    }
  }

  private literal<T extends boolean | null>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.i)) this.fail(this.i, `unexpected ${describe(this.s, this.i)}; expected ${word}`);
    this.i += word.length;
    return v;
  }

  private object(depth: number): LosslessObject {
    if (depth > LOSSLESS_JSON_MAX_DEPTH) this.fail(this.i, `nesting deeper than ${LOSSLESS_JSON_MAX_DEPTH}`);
    const s = this.s;
    const obj: LosslessObject = {};
    this.i++; // {
    this.skipWs();
    if (s.charCodeAt(this.i) === RBRACE) {
      this.i++;
      return obj;
    }
    for (;;) {
      if (s.charCodeAt(this.i) !== QUOTE) this.fail(this.i, `unexpected ${describe(s, this.i)}; expected a string key`);
      const key = this.key();
      this.skipWs();
      if (s.charCodeAt(this.i) !== COLON) this.fail(this.i, `unexpected ${describe(s, this.i)}; expected ':'`);
      this.i++;
      const v = this.value(depth);
      if (key === '__proto__') {
        // An own property like JSON.parse makes, never a prototype swap (prototype pollution).
        Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
      } else {
        obj[key] = v;
      }
      this.skipWs();
      const c = s.charCodeAt(this.i);
      if (c === COMMA) {
        this.i++;
        this.skipWs();
        continue;
      }
      if (c === RBRACE) {
        this.i++;
        return obj;
      }
      return this.fail(this.i, `unexpected ${describe(s, this.i)}; expected ',' or '}'`);
    }
  }

  private array(depth: number): LosslessJson[] {
    if (depth > LOSSLESS_JSON_MAX_DEPTH) this.fail(this.i, `nesting deeper than ${LOSSLESS_JSON_MAX_DEPTH}`);
    const s = this.s;
    const arr: LosslessJson[] = [];
    this.i++; // [
    this.skipWs();
    if (s.charCodeAt(this.i) === RBRACKET) {
      this.i++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      this.skipWs();
      const c = s.charCodeAt(this.i);
      if (c === COMMA) {
        this.i++;
        continue;
      }
      if (c === RBRACKET) {
        this.i++;
        return arr;
      }
      return this.fail(this.i, `unexpected ${describe(s, this.i)}; expected ',' or ']'`);
    }
  }

  /**
   * An object key. Keys repeat from frame to frame ("channel", "price", …); handing V8 the same string instance
   * again spares it internalising a fresh substring on every property store. The cache is direct-mapped and
   * bounded (256 short keys); it changes speed only, never results. Escapes and errors take the string() path.
   */
  private key(): string {
    const s = this.s;
    const n = this.n;
    const start = this.i + 1;
    let i = start;
    let h = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH || c < 0x20) return this.string();
      h = (h * 31 + c) | 0;
      i++;
    }
    if (i >= n) return this.string();
    const len = i - start;
    const slot = (h ^ (h >>> 8) ^ len) & (KEY_CACHE_SIZE - 1);
    this.i = i + 1;
    const cached = keyCache[slot];
    if (cached !== undefined && cached.length === len && s.startsWith(cached, start)) return cached;
    const k = s.slice(start, i);
    if (len <= 32) keyCache[slot] = k;
    return k;
  }

  private string(): string {
    const s = this.s;
    const n = this.n;
    const start = this.i + 1;
    let i = start;
    // Fast path: no escapes, the result is one slice of the source.
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        return s.slice(start, i);
      }
      if (c === BACKSLASH) return this.escapedString(start, i);
      if (c < 0x20) this.fail(i, `unescaped control character U+${hex4(c)} in string`);
      i++;
    }
    return this.fail(start - 1, 'unterminated string');
  }

  private escapedString(start: number, firstEscape: number): string {
    const s = this.s;
    const n = this.n;
    let out = s.slice(start, firstEscape);
    let i = firstEscape;
    let chunk = i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === QUOTE) {
        this.i = i + 1;
        return out + s.slice(chunk, i);
      }
      if (c < 0x20) this.fail(i, `unescaped control character U+${hex4(c)} in string`);
      if (c !== BACKSLASH) {
        i++;
        continue;
      }
      out += s.slice(chunk, i);
      const e = s.charCodeAt(i + 1);
      switch (e) {
        case QUOTE:
          out += '"';
          break;
        case BACKSLASH:
          out += '\\';
          break;
        case 0x2f:
          out += '/';
          break;
        case 0x62:
          out += '\b';
          break;
        case 0x66:
          out += '\f';
          break;
        case 0x6e:
          out += '\n';
          break;
        case 0x72:
          out += '\r';
          break;
        case 0x74:
          out += '\t';
          break;
        case 0x75: {
          // \uXXXX: a UTF-16 code unit; surrogate pairs come as two escapes and join by concatenation.
          let code = 0;
          for (let k = i + 2; k < i + 6; k++) {
            const h = hexValue(s.charCodeAt(k));
            if (h < 0) this.fail(k, `invalid \\u escape: expected 4 hex digits`);
            code = code * 16 + h;
          }
          out += String.fromCharCode(code);
          i += 4;
          break;
        }
        default:
          if (i + 1 >= n) this.fail(start - 1, 'unterminated string');
          this.fail(i, `invalid escape \\${s[i + 1]}`);
      }
      i += 2;
      chunk = i;
    }
    return this.fail(start - 1, 'unterminated string');
  }

  private number(): LosslessNumber {
    // RFC 8259 §6: -? (0 | [1-9][0-9]*) (\.[0-9]+)? ([eE][+-]?[0-9]+)?
    const s = this.s;
    const start = this.i;
    let i = start;
    if (s.charCodeAt(i) === MINUS) i++;
    let c = s.charCodeAt(i);
    if (c === ZERO) {
      i++;
      if (isDigit(s.charCodeAt(i))) this.fail(i, 'leading zeros are not allowed in numbers');
    } else if (isDigit(c)) {
      do i++;
      while (isDigit(s.charCodeAt(i)));
    } else {
      this.fail(i, `unexpected ${describe(s, i)}; expected a digit`);
    }
    c = s.charCodeAt(i);
    if (c === DOT) {
      i++;
      if (!isDigit(s.charCodeAt(i))) this.fail(i, `unexpected ${describe(s, i)}; expected a digit after '.'`);
      do i++;
      while (isDigit(s.charCodeAt(i)));
      c = s.charCodeAt(i);
    }
    if (c === 0x65 || c === 0x45) {
      i++;
      c = s.charCodeAt(i);
      if (c === PLUS || c === MINUS) i++;
      if (!isDigit(s.charCodeAt(i))) this.fail(i, `unexpected ${describe(s, i)}; expected a digit in the exponent`);
      do i++;
      while (isDigit(s.charCodeAt(i)));
    }
    this.i = i;
    return new LosslessNumber(s.slice(start, i));
  }

  fail(position: number, reason: string): never {
    throw new JsonParseError(this.s, position, reason);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

function hex4(c: number): string {
  return c.toString(16).toUpperCase().padStart(4, '0');
}

function describe(s: string, i: number): string {
  if (i >= s.length) return 'end of input';
  const c = s.charCodeAt(i);
  if (c < 0x20 || c === 0x7f) return `character U+${hex4(c)}`;
  return `character ${JSON.stringify(s[i])}`;
}

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(position, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

function excerpt(text: string, position: number): string {
  const from = Math.max(0, position - 20);
  const to = Math.min(text.length, position + 20);
  return JSON.stringify(`${from > 0 ? '…' : ''}${text.slice(from, to)}${to < text.length ? '…' : ''}`);
}
