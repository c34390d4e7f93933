import http from 'node:http';

/**
 * Closed-loop HTTP load generator: `concurrency` workers, each sending its next request as soon as the previous
 * response is fully read, over one keep-alive agent with exactly `concurrency` sockets (no connection set-up in the
 * measured latencies, no queueing inside the agent). A warm-up phase runs the same loop unmeasured, so the server's
 * caches, JIT and connection pool are warm when the clock starts.
 *
 * Latency is time from issuing the request to the last byte of the body. Responses are parsed as JSON so the item
 * count can be checked; that parse runs in this process and competes for the same cores as a local server, which
 * is part of what the figures include.
 */

export interface Scenario {
  name: string;
  /** Path and query of the next request (called once per request, by any worker). */
  nextPath: () => string;
  /** Items in a 200 response's parsed JSON body (rows, bars; 1 for an object). */
  count: (body: unknown) => number;
}

export interface LoadOptions {
  /** e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  /** A request taking longer is aborted and counted as an error. */
  timeoutMs?: number;
  /**
   * Parse (and count) every n-th 200 response (default 1: all). The others are only checked to be a JSON object
   * ({…}); parsing a 150 KB body costs about a millisecond of a core this process shares with a local server.
   */
  parseEvery?: number;
  /** Sent as X-API-Key (an API that is already running, BENCH_API_KEY); never printed. */
  apiKey?: string;
}

export interface LoadError {
  path: string;
  /** HTTP status, or undefined for a transport error or timeout. */
  status: number | undefined;
  body: string;
}

export interface LoadResult {
  name: string;
  requests: number;
  errors: number;
  /** The first failed request of the measured phase. */
  firstError: LoadError | undefined;
  /** Status code → count, transport errors under "error". */
  statuses: Record<string, number>;
  seconds: number;
  rps: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Mean items per parsed successful response, and how many were parsed. */
  avgItems: number;
  parsed: number;
}

interface Response {
  status: number | undefined;
  body: Buffer;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `{` … `}` around optional whitespace: the cheap check for a response that is not parsed. */
function looksLikeObject(b: Buffer): boolean {
  let i = 0;
  let j = b.length - 1;
  while (i <= j && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  while (j >= i && (b[j] === 0x20 || b[j] === 0x0a || b[j] === 0x0d || b[j] === 0x09)) j--;
  return j > i && b[i] === 0x7b && b[j] === 0x7d;
}

function request(agent: http.Agent, url: URL, timeoutMs: number, apiKey: string | undefined): Promise<Response> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (apiKey) headers['x-api-key'] = apiKey;
    const req = http.get(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
      res.on('error', (e) => resolve({ status: undefined, body: Buffer.from(`response error: ${e.message}`) }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
    req.on('error', (e) => resolve({ status: undefined, body: Buffer.from(`request error: ${e.message}`) }));
  });
}

export async function runLoad(scenario: Scenario, o: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.concurrency, maxFreeSockets: o.concurrency });
  const timeoutMs = o.timeoutMs ?? 30_000;
  const parseEvery = Math.max(1, Math.floor(o.parseEvery ?? 1));
  let seq = 0;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  let items = 0;
  let parsed = 0;
  let firstError: LoadError | undefined;
  const t0 = performance.now();
  const measureFrom = t0 + o.warmupSeconds * 1000;
  const stopAt = measureFrom + o.seconds * 1000;
  let lastDone = measureFrom;

  const worker = async (): Promise<void> => {
    for (;;) {
      const started = performance.now();
      if (started >= stopAt) return;
      const path = scenario.nextPath();
      const res = await request(agent, new URL(path, o.baseUrl), timeoutMs, o.apiKey);
      const done = performance.now();
      // Only requests issued after the warm-up count; they may finish a little after stopAt (closed loop).
      const measured = started >= measureFrom;
      if (!measured) continue;
      let n: number | undefined;
      let good = false;
      let failure: string | undefined;
      if (res.status === 200) {
        if (++seq % parseEvery === 0) {
          try {
            n = scenario.count(JSON.parse(res.body.toString('utf8')));
            good = true;
          } catch (e) {
            failure = `bad 200 body (${(e as Error).message}): ${res.body.toString('utf8', 0, 1000)}`;
          }
        } else {
          good = looksLikeObject(res.body);
          if (!good) failure = `200 body is not a JSON object: ${res.body.toString('utf8', 0, 1000)}`;
        }
      }
      if (!good) {
        errors++;
        firstError ??= { path, status: res.status, body: (failure ?? res.body.toString('utf8', 0, 1000)).slice(0, 1000) };
      }
      statuses[String(res.status ?? 'error')] = (statuses[String(res.status ?? 'error')] ?? 0) + 1;
      latencies.push(done - started);
      if (n !== undefined) {
        parsed++;
        items += n;
      }
      if (done > lastDone) lastDone = done;
    }
  };

  try {
    await Promise.all(Array.from({ length: o.concurrency }, () => worker()));
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  const seconds = (lastDone - measureFrom) / 1000;
  return {
    name: scenario.name,
    requests: latencies.length,
    errors,
    firstError,
    statuses,
    seconds,
    rps: seconds > 0 ? latencies.length / seconds : 0,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies[latencies.length - 1] : NaN,
      mean: latencies.length ? latencies.reduce((s, x) => s + x, 0) / latencies.length : NaN,
    },
    avgItems: parsed ? items / parsed : 0,
    parsed,
  };
}
