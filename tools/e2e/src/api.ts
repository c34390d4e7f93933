import { setTimeout as sleep } from 'node:timers/promises';

/** query-api's public port and the API key the run minted (the ops port is Prometheus' and the probes'). */
export interface ApiTarget {
  readonly url: string;
  readonly key: string;
}

interface Page {
  data: Array<{ message_id: string; timestamp: string }>;
  next_cursor: string | null;
}

export interface Listing {
  ids: string[];
  degraded: Set<string>;
}

/** Every row of a /v1/trades or /v1/quotes window, following next_cursor; throws on anything but 200. */
export async function listAll(api: ApiTarget, route: 'trades' | 'quotes', params: Record<string, string>): Promise<Listing> {
  const ids: string[] = [];
  const degraded = new Set<string>();
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ ...params, limit: '10000', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${api.url}/v1/${route}?${q}`, { headers: { 'X-API-Key': api.key } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`GET /v1/${route}?${q} answered ${res.status}: ${text.slice(0, 500)}`);
    const flag = res.headers.get('x-k2-degraded');
    if (flag) degraded.add(flag);
    const page = JSON.parse(text) as Page;
    for (const r of page.data) ids.push(r.message_id);
    cursor = page.next_cursor;
  } while (cursor);
  return { ids, degraded };
}

export interface Sighting {
  eventMs: number;
  seenMs: number;
}

/**
 * Event→API freshness: polls /v1/trades for the last `lookbackMs` of each symbol and notes when each message_id is
 * first answered. The lookback is longer than any outage in the run, so trades backfilled after a fault are still
 * in the window when they arrive. Resolution is the poll interval (the figure is an upper bound by up to that much).
 */
export class ApiFreshnessProbe {
  readonly seen = new Map<string, Sighting>();
  readonly statuses = new Map<number, number>();
  errors = 0;
  private running = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly api: ApiTarget,
    private readonly symbols: Array<{ symbol: string; exchange: string }>,
    private readonly everyMs = 250,
    private readonly lookbackMs = 120_000,
  ) {}

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t0 = Date.now();
      await Promise.all(this.symbols.map((s) => this.poll(s.symbol, s.exchange)));
      await sleep(Math.max(0, this.everyMs - (Date.now() - t0)));
    }
  }

  private async poll(symbol: string, exchange: string): Promise<void> {
    const q = new URLSearchParams({ symbol, exchange, start: new Date(Date.now() - this.lookbackMs).toISOString(), limit: '10000' });
    try {
      const res = await fetch(`${this.api.url}/v1/trades?${q}`, { headers: { 'X-API-Key': this.api.key }, signal: AbortSignal.timeout(10_000) });
      this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
      if (res.status !== 200) {
        await res.body?.cancel();
        return;
      }
      const page = (await res.json()) as Page;
      const now = Date.now();
      for (const r of page.data) if (!this.seen.has(r.message_id)) this.seen.set(r.message_id, { eventMs: Date.parse(r.timestamp), seenMs: now });
    } catch {
      // The API process is being killed or restarted by the test, or the request timed out: counted, not fatal.
      this.errors++;
    }
  }
}
