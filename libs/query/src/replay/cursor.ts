import { InvalidParameterError } from '../params';

/**
 * Where a replay stands (replay-then-follow, issue 16), carried by every event as its id (SSE `id:`, NDJSON `id`):
 * - history: the (timestamp, message_id) of the event — the history is ordered by that key, so "after it" is exact;
 * - live: per Kafka `topic/partition`, the next offset not yet delivered — live events are delivered in offset order
 *   per partition, so "from these offsets on" is exact even though event time is not monotonic live.
 * Text forms: `h_<µs>_<message_id>` (message ids never contain `_`) and `l_<base64url JSON {tp: offset}>`.
 */
export type ReplayPosition = { phase: 'history'; ts: bigint; id: string } | { phase: 'live'; offsets: ReadonlyMap<string, number> };

const ID_RE = /^[A-Za-z0-9.:-]{1,128}$/;
const MAX_US = 253_402_300_799_999_999n;

export function historyCursor(ts: bigint, id: string): string {
  return `h_${ts}_${id}`;
}

export function liveCursor(offsets: ReadonlyMap<string, number>): string {
  return `l_${Buffer.from(JSON.stringify(Object.fromEntries(offsets)), 'utf8').toString('base64url')}`;
}

export function encodeReplayCursor(p: ReplayPosition): string {
  return p.phase === 'history' ? historyCursor(p.ts, p.id) : liveCursor(p.offsets);
}

const bad = () => new InvalidParameterError('cursor', 'is not an event id this API issued; pass the id of the last event received unchanged');

export function decodeReplayCursor(text: string): ReplayPosition {
  if (text.startsWith('h_')) {
    const m = /^h_([0-9]{1,19})_(.+)$/.exec(text);
    if (!m || !ID_RE.test(m[2])) throw bad();
    const ts = BigInt(m[1]);
    if (ts > MAX_US) throw bad();
    return { phase: 'history', ts, id: m[2] };
  }
  if (!/^l_[A-Za-z0-9_-]{1,8190}$/.test(text)) throw bad();
  let o: unknown;
  try {
    o = JSON.parse(Buffer.from(text.slice(2), 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad();
  const offsets = new Map<string, number>();
  for (const [tp, v] of Object.entries(o)) {
    // topic/partition as tpKey writes it; topic names are Kafka's legal characters.
    if (!/^[A-Za-z0-9._-]{1,249}\/[0-9]{1,6}$/.test(tp) || !Number.isSafeInteger(v) || (v as number) < 0) throw bad();
    offsets.set(tp, v as number);
  }
  return { phase: 'live', offsets };
}
