import type { HotSlice } from './hot-tier';
import type { TableRow } from './merge-page';
import { tableRowToRecord } from './records';
import type { V2Record } from './tail-store';

/**
 * Pages from the hot tier's slices (ADR 0015): each slice is already in the API's order, newest first by
 * (timestamp, message_id), so a page is a binary search per slice and a k-way merge across slices.
 */
export interface HotQuery {
  exchange: string | null;
  startUs: bigint;
  endUs: bigint;
  cursor: { ts: bigint; id: string } | null;
  limit: number;
}

/** Index range [from, stop) of one slice's rows in the window and after the cursor (exchange not yet applied). */
function sliceRange(s: HotSlice, q: HotQuery): { from: number; stop: number } {
  let i = s.firstBelow(q.endUs);
  const stop = s.firstBelow(q.startUs);
  if (q.cursor) {
    i = Math.max(i, s.firstBelow(q.cursor.ts + 1n));
    while (i < stop && s.tsAt(i) === q.cursor.ts && s.idAt(i) >= q.cursor.id) i++;
  }
  return { from: i, stop };
}

interface Head {
  s: HotSlice;
  i: number;
  stop: number;
  ts: bigint;
  id: string | undefined;
}

/** Moves a head to its next row of the exchange; false when the slice's range is used up. */
function advance(h: Head, exchange: string | null): boolean {
  while (h.i < h.stop && exchange !== null && h.s.exchangeAt(h.i) !== exchange) h.i++;
  if (h.i >= h.stop) return false;
  h.ts = h.s.tsAt(h.i);
  h.id = undefined;
  return true;
}

const idOf = (h: Head): string => (h.id ??= h.s.idAt(h.i));
/** True when `a` comes first: newest first by (timestamp, message_id); ids are decoded only on a timestamp tie. */
const before = (a: Head, b: Head): boolean => (a.ts !== b.ts ? a.ts > b.ts : idOf(a) > idOf(b));

/**
 * Newest first by (timestamp, message_id) over several slices: the same order and page the SQL gives. Each slice
 * is already in that order, so the page is a k-way merge of the slices' windows through a binary heap: `limit`
 * steps of log k, whatever the window holds.
 */
export function hotPage(slices: readonly HotSlice[], q: HotQuery): V2Record[] {
  return hotMerge(slices, q, (s, i) => tableRowToRecord(s.rowAt(i)));
}

/** The same page as rows with their JSON text formatted straight from the columns (the API's fast path). */
export function hotPageRows(slices: readonly HotSlice[], q: HotQuery): TableRow[] {
  return hotMerge(slices, q, (s, i) => ({ ts: s.tsAt(i), id: s.idAt(i), text: s.jsonAt(i) }));
}

function hotMerge<T>(slices: readonly HotSlice[], q: HotQuery, take: (s: HotSlice, i: number) => T): T[] {
  const heap: Head[] = [];
  for (const s of slices) {
    const { from, stop } = sliceRange(s, q);
    const h: Head = { s, i: from, stop, ts: 0n, id: undefined };
    if (advance(h, q.exchange)) heapPush(heap, h);
  }
  const out: T[] = [];
  while (out.length < q.limit && heap.length > 0) {
    const h = heap[0];
    out.push(take(h.s, h.i));
    h.i++;
    if (advance(h, q.exchange)) siftDown(heap, 0);
    else {
      const last = heap.pop() as Head;
      if (heap.length > 0) {
        heap[0] = last;
        siftDown(heap, 0);
      }
    }
  }
  return out;
}

function heapPush(heap: Head[], h: Head): void {
  heap.push(h);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(heap[i], heap[p])) break;
    [heap[i], heap[p]] = [heap[p], heap[i]];
    i = p;
  }
}

function siftDown(heap: Head[], i: number): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && before(heap[l], heap[m])) m = l;
    if (r < heap.length && before(heap[r], heap[m])) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m], heap[i]];
    i = m;
  }
}
