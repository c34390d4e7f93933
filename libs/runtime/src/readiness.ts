import { ErrorCode, K2Error } from '@k2/core';

export interface ReadinessCheck {
  /** Shown in /readyz output, e.g. "kafka" or "schema-registry". */
  name: string;
  /** Passes when it resolves to anything but `false`; a rejection's message becomes the reason. */
  check: () => unknown;
  /** A check slower than this fails with "timed out". Default 2000 ms, well below a typical probe timeout. */
  timeoutMs?: number;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  reason?: string;
  durationMs: number;
}

export interface ReadinessReport {
  ready: boolean;
  checks: CheckResult[];
}

export const DEFAULT_CHECK_TIMEOUT_MS = 2000;

/**
 * The set of named readiness checks behind /readyz. All checks run concurrently on every probe, each with its
 * own timeout, so one hanging dependency is reported by name instead of stalling the probe. Once shutdown
 * begins the service reports not ready regardless, so the load balancer stops routing to it while it drains.
 */
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private stopping: string | undefined;

  add(check: ReadinessCheck): void {
    if (this.checks.has(check.name)) throw new K2Error(ErrorCode.INTERNAL, `readiness check ${check.name} is already registered`);
    this.checks.set(check.name, check);
  }

  remove(name: string): void {
    this.checks.delete(name);
  }

  markShuttingDown(reason: string): void {
    this.stopping ??= reason;
  }

  get shuttingDown(): boolean {
    return this.stopping !== undefined;
  }

  async evaluate(): Promise<ReadinessReport> {
    const checks = await Promise.all([...this.checks.values()].map(runCheck));
    if (this.stopping !== undefined) checks.unshift({ name: 'shutdown', ok: false, reason: `shutting down: ${this.stopping}`, durationMs: 0 });
    return { ready: checks.every((c) => c.ok), checks };
  }
}

async function runCheck(c: ReadinessCheck): Promise<CheckResult> {
  const started = performance.now();
  const timeoutMs = c.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ name: c.name, ok: false, reason: `timed out after ${timeoutMs}ms`, durationMs: timeoutMs }), timeoutMs);
  });
  const run = (async (): Promise<CheckResult> => {
    try {
      const result = await c.check();
      const durationMs = Math.round(performance.now() - started);
      return result === false ? { name: c.name, ok: false, reason: 'check returned false', durationMs } : { name: c.name, ok: true, durationMs };
    } catch (err) {
      return { name: c.name, ok: false, reason: err instanceof Error ? err.message : String(err), durationMs: Math.round(performance.now() - started) };
    }
  })();
  try {
    return await Promise.race([run, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
