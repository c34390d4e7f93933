/**
 * A growable Bloom filter over message_id strings: answers "certainly new" or "maybe seen". Sixteen bits and eight
 * probes per id (false-positive rate ≈ 0.06 % while a block is within its capacity; Kirsch–Mitzenmacher double
 * hashing of two 32-bit FNV-1a hashes). It grows by adding blocks, each twice the capacity of the previous one up
 * to 2^20 ids, so a small partition costs 128 KiB and a big one 2–4 B per id instead of a JS Set entry's ~90.
 */
const BITS_PER_ID = 16;
const PROBES = 8;
const FIRST_CAPACITY = 1 << 16;
const MAX_CAPACITY = 1 << 20;

function hash(s: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  // Final avalanche (fmix32 of MurmurHash3): FNV's low bits are weak for short, similar keys.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

class Block {
  readonly bits: Uint32Array;
  private readonly mask: number;
  count = 0;

  constructor(readonly capacity: number) {
    this.bits = new Uint32Array((capacity * BITS_PER_ID) / 32);
    this.mask = capacity * BITS_PER_ID - 1;
  }

  add(h1: number, h2: number): void {
    for (let k = 0; k < PROBES; k++) {
      const b = (h1 + Math.imul(k, h2)) & this.mask;
      this.bits[b >>> 5] |= 1 << (b & 31);
    }
    this.count++;
  }

  has(h1: number, h2: number): boolean {
    for (let k = 0; k < PROBES; k++) {
      const b = (h1 + Math.imul(k, h2)) & this.mask;
      if ((this.bits[b >>> 5] & (1 << (b & 31))) === 0) return false;
    }
    return true;
  }
}

export class IdFilter {
  private readonly blocks: Block[] = [];
  private ids = 0;

  /** Ids added (with repeats). */
  get size(): number {
    return this.ids;
  }

  get bytes(): number {
    let n = 0;
    for (const b of this.blocks) n += b.bits.byteLength;
    return n;
  }

  /** Bytes the next block would take (the caller checks its budget before adding). */
  get nextBlockBytes(): number {
    const last = this.blocks[this.blocks.length - 1];
    if (last && last.count < last.capacity) return 0;
    return (this.nextCapacity() * BITS_PER_ID) / 8;
  }

  add(id: string): void {
    let last = this.blocks[this.blocks.length - 1];
    if (!last || last.count >= last.capacity) this.blocks.push((last = new Block(this.nextCapacity())));
    last.add(hash(id, 0x811c9dc5), hash(id, 0x01000193) | 1);
    this.ids++;
  }

  mightHave(id: string): boolean {
    if (this.blocks.length === 0) return false;
    const h1 = hash(id, 0x811c9dc5);
    const h2 = hash(id, 0x01000193) | 1;
    for (const b of this.blocks) if (b.has(h1, h2)) return true;
    return false;
  }

  private nextCapacity(): number {
    return Math.min(MAX_CAPACITY, FIRST_CAPACITY << this.blocks.length);
  }
}
