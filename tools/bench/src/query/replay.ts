/**
 * Replay-then-follow throughput (issue 16), for bench:query: one GET /v1/replay at speed=max over a closed window
 * (`end` given, so it finishes), read as fast as this process can count NDJSON lines. Goal: one day replayed at
 * ≥ 500,000 events/s. The client only counts newlines (no JSON parse), so its share of the 2 shared cores is small.
 */
export interface ReplayMeasurement {
  events: number;
  bytes: number;
  seconds: number;
  eventsPerSecond: number;
  /** Time to the first byte of the answer (capture, planning, the first page). */
  firstByteMs: number;
  /** The control event the replay ended with (`end`, or `error` with its code). */
  last: string;
}

export const REPLAY_GOAL_EVENTS_PER_SECOND = 500_000;

/** `query` without format/speed, e.g. `symbols=BTCUSDT,ETHUSDT&start=2026-10-05T00:00:00Z&end=2026-10-06T00:00:00Z`. */
export async function measureReplay(baseUrl: string, query: string, headers: Record<string, string> = {}): Promise<ReplayMeasurement> {
  const t0 = performance.now();
  const res = await fetch(`${baseUrl}/v1/replay?${query}&speed=max&format=ndjson`, { headers });
  if (!res.ok || !res.body) throw new Error(`replay answered ${res.status}: ${await res.text()}`);
  let firstByteMs = -1;
  let lines = 0;
  let bytes = 0;
  let tail: Uint8Array = new Uint8Array(0);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    if (firstByteMs < 0) firstByteMs = performance.now() - t0;
    bytes += chunk.length;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    tail = chunk.subarray(Math.max(0, chunk.length - 300));
  }
  const seconds = (performance.now() - t0) / 1000;
  const text = Buffer.from(tail).toString('utf8').trimEnd();
  const lastLine = text.slice(text.lastIndexOf('\n') + 1);
  const last = /"type":"control","event":"(\w+)"/.exec(lastLine)?.[1] ?? 'none';
  const events = Math.max(0, lines - (last === 'none' ? 0 : 1));
  return { events, bytes, seconds, eventsPerSecond: events / seconds, firstByteMs, last };
}
