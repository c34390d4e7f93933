import { K2_MESSAGE_ID_NAMESPACE } from '@k2/schema';

const NS = Buffer.from(K2_MESSAGE_ID_NAMESPACE.replace(/-/g, ''), 'hex');
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * The ids of one source file's rows: `messageId(exchange, symbol, sourceIdPrefix + line, kind)` from @k2/schema,
 * computed without node:crypto. crypto's one-shot SHA-1 costs ~2 µs per call here, which alone would cap a load
 * near 400k rows/s before any other work; this SHA-1 (FIPS 180-4 §6.1) hashes the constant prefix once and only
 * the last block(s) per row, in preallocated buffers. ids.spec.ts checks it against messageId on real and random
 * names.
 */
export class RowIdFactory {
  private readonly mid = new Int32Array(5);
  private readonly tail: Buffer;
  private readonly prefixLen: number;
  private readonly buf = Buffer.alloc(256);
  private readonly w = new Int32Array(80);
  private readonly h = new Int32Array(5);
  private readonly digest = Buffer.alloc(20);

  constructor(
    readonly kind: string,
    readonly exchange: string,
    readonly symbol: string,
    readonly sourceIdPrefix: string,
  ) {
    const prefix = Buffer.concat([NS, Buffer.from(`${kind}\u0000${exchange.toUpperCase()}\u0000${symbol.toUpperCase()}\u0000${sourceIdPrefix}`, 'utf8')]);
    this.prefixLen = prefix.length;
    this.mid.set([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476, 0xc3d2e1f0 | 0]);
    const full = prefix.length - (prefix.length % 64);
    for (let off = 0; off < full; off += 64) compress(this.mid, prefix, off, this.w);
    this.tail = Buffer.from(prefix.subarray(full));
  }

  /** The source id of `line`: what goes into trade_id. */
  sourceId(line: number): string {
    return this.sourceIdPrefix + line;
  }

  /** UUID v5 of the row at `line` (a non-negative integer). */
  id(line: number): string {
    const buf = this.buf;
    let n = this.tail.copy(buf, 0);
    // Decimal digits of line, written in place.
    const start = n;
    let v = line;
    do {
      buf[n++] = 48 + (v % 10);
      v = Math.floor(v / 10);
    } while (v > 0);
    for (let i = start, j = n - 1; i < j; i++, j--) {
      const t = buf[i];
      buf[i] = buf[j];
      buf[j] = t;
    }
    const totalBits = (this.prefixLen + (n - this.tail.length)) * 8;
    buf[n++] = 0x80;
    const end = n + 8 <= 64 ? 64 : 128;
    buf.fill(0, n, end);
    // Names are far below 2^29 bytes, so the high word of the 64-bit bit length is always zero.
    buf[end - 4] = totalBits >>> 24;
    buf[end - 3] = totalBits >>> 16;
    buf[end - 2] = totalBits >>> 8;
    buf[end - 1] = totalBits;
    const h = this.h;
    h.set(this.mid);
    for (let off = 0; off < end; off += 64) compress(h, buf, off, this.w);
    const d = this.digest;
    for (let i = 0; i < 5; i++) {
      const x = h[i];
      d[i * 4] = x >>> 24;
      d[i * 4 + 1] = x >>> 16;
      d[i * 4 + 2] = x >>> 8;
      d[i * 4 + 3] = x;
    }
    d[6] = (d[6] & 0x0f) | 0x50;
    d[8] = (d[8] & 0x3f) | 0x80;
    return (
      HEX[d[0]] + HEX[d[1]] + HEX[d[2]] + HEX[d[3]] + '-' + HEX[d[4]] + HEX[d[5]] + '-' + HEX[d[6]] + HEX[d[7]] + '-' +
      HEX[d[8]] + HEX[d[9]] + '-' + HEX[d[10]] + HEX[d[11]] + HEX[d[12]] + HEX[d[13]] + HEX[d[14]] + HEX[d[15]]
    );
  }
}

function compress(h: Int32Array, b: Uint8Array, off: number, w: Int32Array): void {
  for (let i = 0; i < 16; i++) {
    const o = off + i * 4;
    w[i] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
  }
  for (let i = 16; i < 80; i++) {
    const x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16];
    w[i] = (x << 1) | (x >>> 31);
  }
  let a = h[0];
  let bb = h[1];
  let c = h[2];
  let d = h[3];
  let e = h[4];
  let i = 0;
  for (; i < 20; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (~bb & d)) + e + 0x5a827999 + w[i]) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  for (; i < 40; i++) {
    const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e + 0x6ed9eba1 + w[i]) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  for (; i < 60; i++) {
    const t = (((a << 5) | (a >>> 27)) + ((bb & c) | (bb & d) | (c & d)) + e - 0x70e44324 + w[i]) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  for (; i < 80; i++) {
    const t = (((a << 5) | (a >>> 27)) + (bb ^ c ^ d) + e - 0x359d3e2a + w[i]) | 0;
    e = d;
    d = c;
    c = (bb << 30) | (bb >>> 2);
    bb = a;
    a = t;
  }
  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + bb) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0;
}
