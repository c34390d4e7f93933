import type { ReplayPageRequest, QueryService } from '../query-service';
import type { TableState } from '../table-view';
import type { TailKind } from '../tail-store';
import type { PagedSource, ReplayItem } from './merge';

export interface TablePagesOptions {
  kind: TailKind;
  state: TableState;
  service: Pick<QueryService, 'replayPage'>;
  /** Selection and window; `after` is the resume position (exclusive). */
  req: Omit<ReplayPageRequest, 'limit'>;
  limit: number;
  /** First time slice; it then adapts to the data's density. Default 5 minutes. */
  sliceUs?: bigint;
}

const MIN_SLICE_US = 1_000_000n;

/**
 * A table's history for a replay as ascending pages (issue 16), each one bounded twice: by time, a slice [from,
 * from + slice) of the window, and by count, `limit` rows after the last row returned (keyset). The slice is what
 * keeps a page cheap: data files are sorted by symbol, so row groups span the whole day and without an upper time
 * bound every page would sort the rest of the day to keep its first rows. Each slice is sized from the previous
 * page's density (at most 6× wider, so nights and weekends pass in a few pages) and halved when a page fills up.
 */
export function tablePages(o: TablePagesOptions): PagedSource {
  let from = o.req.after && o.req.after.ts > o.req.startUs ? o.req.after.ts : o.req.startUs;
  let after = o.req.after;
  let slice = o.sliceUs ?? 300_000_000n;
  const end = o.req.endUs;
  return {
    next: async () => {
      while (from < end) {
        const sliceEnd = end - from > slice ? from + slice : end;
        const page = await o.service.replayPage(o.kind, o.state, { ...o.req, startUs: from, endUs: sliceEnd, after, limit: o.limit });
        const n = page.ts.length;
        if (n >= o.limit) {
          // Continue from the last row: the next slice starts at its timestamp (the keyset skips what was sent).
          after = { ts: page.ts[n - 1], id: page.id[n - 1] };
          from = after.ts;
          if (slice / 2n >= MIN_SLICE_US) slice /= 2n;
        } else {
          from = sliceEnd;
          after = undefined;
          // Aim the next slice at ~3/4 of a page at this density (at most 6× wider): every page costs a scan of
          // its files' columns, so fewer, fuller pages are what makes a replay fast.
          slice = (slice * BigInt(Math.floor((o.limit * 3) / 4))) / BigInt(Math.max(n, Math.ceil(o.limit / 8)));
          if (slice < MIN_SLICE_US) slice = MIN_SLICE_US;
        }
        if (n > 0) return page.ts.map((ts, i): ReplayItem => ({ kind: o.kind, ts, id: page.id[i], json: page.json[i] }));
      }
      return [];
    },
  };
}
