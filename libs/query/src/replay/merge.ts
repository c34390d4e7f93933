import type { TailKind, V2Record } from '../tail-store';

/** One record of a replay's history: its kind and its (timestamp, message_id) order key. */
export interface ReplayItem {
  kind: TailKind;
  ts: bigint;
  id: string;
  /** A tail record (formatted by recordJson when sent)… */
  rec?: V2Record;
  /** …or a table row already as API JSON (SQL.replayTrades / replayQuotes). */
  json?: string;
}

export const compareItems = (a: { ts: bigint; id: string }, b: { ts: bigint; id: string }): number =>
  a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** An ascending source read a page at a time; `next` resolves to an empty page at the end. */
export interface PagedSource {
  next(): Promise<ReplayItem[]>;
}

/** A source over rows already in memory (the tail part of a capture), sorted once. */
export function arraySource(items: ReplayItem[]): PagedSource {
  const sorted = [...items].sort(compareItems);
  let done = false;
  return {
    next: () => {
      const page = done ? [] : sorted;
      done = true;
      return Promise.resolve(page);
    },
  };
}

interface Cursor {
  src: PagedSource;
  page: ReplayItem[];
  i: number;
  done: boolean;
}

/**
 * K-way merge of ascending sources into ascending batches by (timestamp, message_id), dropping an item equal in key
 * to the one before it: a record the table holds and the tail holds again (a streamer's replay, ADR 0009) has the
 * same key in both, so the two are adjacent. Batches are built synchronously while every source has rows buffered,
 * so a source is awaited only when its page runs out; memory is one page per source.
 */
export class AscendingMerge {
  private readonly cursors: Cursor[];
  private last: { ts: bigint; id: string } | undefined;

  constructor(sources: readonly PagedSource[], after?: { ts: bigint; id: string }) {
    this.cursors = sources.map((src) => ({ src, page: [], i: 0, done: false }));
    this.last = after;
  }

  /** The next batch of at most `max` items; empty when every source is exhausted. */
  async next(max: number): Promise<ReplayItem[]> {
    const out: ReplayItem[] = [];
    while (out.length < max) {
      for (const c of this.cursors) {
        while (!c.done && c.i >= c.page.length) {
          if (out.length > 0) return out; // hand over what is ready before waiting on storage
          c.page = await c.src.next();
          c.i = 0;
          if (c.page.length === 0) c.done = true;
        }
      }
      let best: Cursor | undefined;
      for (const c of this.cursors) if (!c.done && (!best || compareItems(c.page[c.i], best.page[best.i]) < 0)) best = c;
      if (!best) return out;
      const item = best.page[best.i++];
      if (this.last && compareItems(item, this.last) <= 0) continue; // a duplicate key, or at/before the resume point
      this.last = item;
      out.push(item);
    }
    return out;
  }
}
