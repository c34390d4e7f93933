import type { Response } from 'express';
import { ErrorCode, K2Error, type Logger } from '@k2/core';
import { InvalidParameterError, type ReplayRequest } from '../params';
import { decodeReplayCursor } from './cursor';
import { ReplaySession, type ReplaySessionDeps } from './session';
import { ReplayWriter, type ReplayFormat } from './writer';

export interface ReplayServiceOptions extends ReplaySessionDeps {
  logger: Logger;
  /** False when the Kafka tail is off: a replay then needs `end` (no live phase to follow). Default true. */
  follow?: boolean;
  /** Replays open at once in this process; more get 503 (the per-key limit is max_streams). Default 100. */
  maxReplays?: number;
}

/**
 * GET /v1/replay (replay-then-follow, issue 16): validates the cursor before answering, then runs one ReplaySession
 * per request on its response. A failure after the headers went out (storage down mid-history, Kafka gone on a live
 * resume) ends the stream with an error event carrying the last event id, so the client resumes from it.
 */
export class ReplayService {
  private readonly writers = new Set<ReplayWriter>();

  constructor(private readonly o: ReplayServiceOptions) {
    // One 'row' listener per following replay, next to the stream hub's: not a leak, so no MaxListeners warning.
    o.store.setMaxListeners(Math.max(o.store.getMaxListeners(), (o.maxReplays ?? 100) + 16));
  }

  get size(): number {
    return this.writers.size;
  }

  /** Throws InvalidParameterError (400) for a bad cursor before anything is written. */
  /** `negotiated`: the format the Accept header prefers, used when the request has no `format`. */
  async serve(req: ReplayRequest, negotiated: ReplayFormat, res: Response): Promise<void> {
    const pos = req.cursor === undefined ? undefined : decodeReplayCursor(req.cursor);
    if (pos?.phase === 'live' && req.endUs !== undefined) throw new InvalidParameterError('cursor', 'is a live position; a replay with end has no live phase');
    if (req.endUs === undefined && this.o.follow === false) {
      res.status(503).json({ error: { code: ErrorCode.KAFKA_UNAVAILABLE, message: 'following live needs the Kafka tail, which is switched off (QUERY_TAIL_ENABLED=false); give end to replay a window' } });
      return;
    }
    if (this.writers.size >= (this.o.maxReplays ?? 100)) {
      res.status(503).set('Retry-After', '5').json({ error: { code: 'K2_QUERY_STREAM_LIMIT', message: 'too many open replays; retry later' } });
      return;
    }
    const out = new ReplayWriter(res, req.format ?? negotiated, req.speed);
    this.writers.add(out);
    this.o.metrics?.open.set(this.writers.size);
    const t0 = Date.now();
    try {
      out.start();
      await new ReplaySession(this.o, req, pos, out).run();
    } catch (e) {
      const code = e instanceof K2Error ? e.code : ErrorCode.INTERNAL;
      this.o.logger.warn('replay ended by an error', { error: e instanceof Error ? e.message : String(e), code, events: out.events });
      this.o.metrics?.ended.inc({ reason: 'error' });
      if (!out.closed) await out.control('error', { code, message: 'the replay stopped; resume with the last event id', cursor: out.lastId ?? null });
    } finally {
      if (out.closed) this.o.metrics?.ended.inc({ reason: 'client' });
      this.writers.delete(out);
      this.o.metrics?.open.set(this.writers.size);
      out.end();
      this.o.logger.debug('replay closed', { events: out.events, ms: Date.now() - t0 });
    }
  }

  /** Ends every open replay (shutdown). */
  close(): void {
    for (const w of this.writers) w.end();
    this.writers.clear();
  }
}
