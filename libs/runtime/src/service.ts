import { once } from 'node:events';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import { ConfigError, createLogger, ErrorCode, handleCli, K2Error, redactConfig, toK2Error, type Logger } from '@k2/core';
import { serviceHelp, type ServiceCli } from './cli';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type RuntimeConfig } from './config';
import { createHttpApp, startHttpServer, type HttpServerHandle } from './http';
import { createMetricsRegistry } from './metrics';
import { Readiness, type ReadinessCheck } from './readiness';

export type ShutdownHook = () => unknown;

export interface ServiceContext<C extends RuntimeConfig> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly readiness: Readiness;
  /** The express app behind /metrics, /healthz and /readyz; query-api mounts its routes here. */
  readonly app: Express;
  readonly host: string;
  readonly port: number;
  /** Aborted as soon as shutdown begins; long-running loops started in `start` should stop on it. */
  readonly signal: AbortSignal;
  /** Hooks run in reverse order of registration (last acquired, first released). */
  onShutdown(name: string, hook: ShutdownHook): void;
  /** Begins a graceful shutdown, e.g. when a batch job is done (exit code 0) or a fatal error occurred (non-zero). */
  shutdown(reason: string, exitCode?: number): Promise<number>;
}

export interface ServiceOptions<C extends RuntimeConfig> {
  name: string;
  /** The validated config, or its loader; a loader's ConfigError is logged as one structured line. */
  config: C | (() => C);
  /**
   * Brings the service up; resolving marks it started (the built-in `started` readiness check). It may
   * keep running work in the background and should stop it on `ctx.signal` or through `ctx.onShutdown`.
   */
  start: (ctx: ServiceContext<C>) => unknown;
  readiness?: ReadinessCheck[];
  /** Defaults: a JSON logger at config.logLevel, `createMetricsRegistry(name)`. */
  logger?: Logger;
  registry?: Registry;
  /** Override config.metricsHost / metricsPort / shutdownTimeoutMs. */
  host?: string;
  port?: number;
  shutdownTimeoutMs?: number;
}

export interface RunningService<C extends RuntimeConfig> {
  readonly ctx: ServiceContext<C>;
  readonly host: string;
  readonly port: number;
  shutdown(reason: string, exitCode?: number): Promise<number>;
  /** Resolves with the exit code once a shutdown, however triggered, has finished. */
  readonly done: Promise<number>;
}

/**
 * One service instance without any process-level side effects (no signal handlers, no process.exit), for tests
 * and for `runService`. Start-up: HTTP server first, so /healthz answers and /readyz reports `started` as
 * failing while `start` waits for dependencies; then `start`.
 *
 * Shutdown: not ready + `signal` aborted, hooks in LIFO order within `shutdownTimeoutMs`, HTTP server closed
 * last so probes keep getting 503 while draining. The exit code is non-zero when a hook failed, the deadline
 * was hit, or any shutdown request asked for a non-zero code.
 */
export class Service<C extends RuntimeConfig> {
  readonly name: string;
  readonly config: C;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly readiness = new Readiness();
  readonly app: Express;
  readonly done: Promise<number>;
  private readonly opts: ServiceOptions<C>;
  private readonly abort = new AbortController();
  private readonly hooks: Array<{ name: string; hook: ShutdownHook }> = [];
  private readonly shutdownTimeoutMs: number;
  private http: HttpServerHandle | undefined;
  private started = false;
  private exitCode = 0;
  private shutdownPromise: Promise<number> | undefined;
  private resolveDone!: (code: number) => void;

  /** Loads the config; throws its ConfigError. */
  constructor(opts: ServiceOptions<C>) {
    this.opts = opts;
    this.name = opts.name;
    this.config = typeof opts.config === 'function' ? opts.config() : opts.config;
    this.logger = opts.logger ?? createLogger({ service: opts.name, level: this.config.logLevel });
    this.registry = opts.registry ?? createMetricsRegistry(opts.name);
    this.shutdownTimeoutMs = opts.shutdownTimeoutMs ?? this.config.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    this.app = createHttpApp({ registry: this.registry, readiness: this.readiness });
    this.readiness.add({ name: 'started', check: () => this.started || Promise.reject(new Error('start-up has not finished')) });
    for (const check of opts.readiness ?? []) this.readiness.add(check);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get isShuttingDown(): boolean {
    return this.shutdownPromise !== undefined;
  }

  /** Listens and runs `start`; rejects if either fails (the caller decides whether to shut down). */
  async start(): Promise<RunningService<C>> {
    const host = this.opts.host ?? this.config.metricsHost;
    const requestedPort = this.opts.port ?? this.config.metricsPort;
    this.logger.info('service starting', { config: redact(this.config) });
    this.http = await startHttpServer(this.app, requestedPort, host);
    this.logger.info('http server listening', { host, port: this.http.port, url: `http://${host}:${this.http.port}` });
    const ctx: ServiceContext<C> = {
      name: this.name,
      config: this.config,
      logger: this.logger,
      registry: this.registry,
      readiness: this.readiness,
      app: this.app,
      host,
      port: this.http.port,
      signal: this.abort.signal,
      onShutdown: (name, hook) => this.onShutdown(name, hook),
      shutdown: (reason, exitCode) => this.shutdown(reason, exitCode),
    };
    await this.opts.start(ctx);
    if (!this.isShuttingDown) {
      this.started = true;
      this.logger.info('service started', { host, port: this.http.port });
    }
    return { ctx, host, port: this.http.port, shutdown: ctx.shutdown, done: this.done };
  }

  onShutdown(name: string, hook: ShutdownHook): void {
    this.hooks.push({ name, hook });
  }

  /** Idempotent: later calls join the running shutdown, only raising its exit code. */
  shutdown(reason: string, exitCode = 0): Promise<number> {
    if (exitCode !== 0 && this.exitCode === 0) this.exitCode = exitCode;
    this.shutdownPromise ??= this.runShutdown(reason);
    return this.shutdownPromise;
  }

  private async runShutdown(reason: string): Promise<number> {
    const began = Date.now();
    this.readiness.markShuttingDown(reason);
    this.abort.abort(new K2Error(ErrorCode.SHUTTING_DOWN, `${this.name} is shutting down: ${reason}`, { retriable: true }));
    this.logger.info('shutdown started', { reason, hooks: this.hooks.length, deadlineMs: this.shutdownTimeoutMs });

    let pending: string | undefined;
    const hooks = [...this.hooks].reverse();
    const runHooks = async () => {
      for (const { name, hook } of hooks) {
        pending = name;
        try {
          await hook();
          this.logger.debug('shutdown hook done', { hook: name });
        } catch (err) {
          this.exitCode ||= 1;
          this.logger.error('shutdown hook failed', { hook: name, error: toK2Error(err).toJSON() });
        }
      }
      pending = undefined;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), this.shutdownTimeoutMs)));
    const outcome = await Promise.race([runHooks().then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'deadline') {
      this.exitCode ||= 1;
      this.logger.error('shutdown deadline exceeded', { deadlineMs: this.shutdownTimeoutMs, pendingHook: pending });
    }

    try {
      await this.http?.close();
    } catch (err) {
      this.exitCode ||= 1;
      this.logger.error('closing the http server failed', { error: toK2Error(err).toJSON() });
    }
    const code = this.exitCode;
    this.logger.info('shutdown complete', { reason, exitCode: code, durationMs: Date.now() - began });
    this.resolveDone(code);
    return code;
  }
}

/** Starts a service in-process and resolves once `start` has finished; see `Service`. A failed start is shut down, then rethrown. */
export async function startService<C extends RuntimeConfig>(opts: ServiceOptions<C>): Promise<RunningService<C>> {
  const service = new Service(opts);
  try {
    return await service.start();
  } catch (err) {
    await service.shutdown('start failed', 1);
    throw err;
  }
}

export interface RunServiceOptions<C extends RuntimeConfig> extends ServiceOptions<C> {
  /** Defaults to process.exit; replaced in tests. */
  exit?: (code: number) => void;
  /** `--help` and argument checking; without it the command line is not looked at. */
  cli?: ServiceCli;
}

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * The `main` of every K2 process. Runs the service and owns the process: SIGTERM and SIGINT start one graceful
 * shutdown (a repeated signal is logged and ignored; the deadline bounds the wait), uncaught exceptions and
 * unhandled rejections are logged as structured JSON and end in a shutdown with exit code 1, as do an invalid
 * config and a failed start. Resolves with the exit code right before calling `exit`. With `cli`, `--help` prints
 * the help and exits 0, and an unknown argument exits 2 with one line on stderr, both before the config is loaded.
 */
export async function runService<C extends RuntimeConfig>(opts: RunServiceOptions<C>): Promise<number> {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const cliCode = opts.cli ? answerCli(opts.name, opts.cli) : undefined;
  if (cliCode !== undefined) {
    await drained();
    exit(cliCode);
    return cliCode;
  }
  let service: Service<C>;
  try {
    service = new Service(opts);
  } catch (err) {
    const logger = opts.logger ?? createLogger({ service: opts.name });
    const error = toK2Error(err);
    logger.error(err instanceof ConfigError ? 'invalid configuration' : 'service construction failed', {
      error: error.toJSON(),
      ...(err instanceof ConfigError ? { problems: err.problems } : { stack: error.stack }),
    });
    await flush();
    exit(1);
    return 1;
  }
  const { logger } = service;

  const onSignal = (signal: NodeJS.Signals) => {
    if (service.isShuttingDown) {
      logger.warn('signal received during shutdown; ignored', { signal });
      return;
    }
    logger.info('signal received', { signal });
    void service.shutdown(`signal ${signal}`, 0);
  };
  const onFatal = (kind: string) => (err: unknown) => {
    const error = toK2Error(err);
    logger.error(kind, { error: error.toJSON(), stack: err instanceof Error ? err.stack : undefined });
    void service.shutdown(kind, 1);
  };
  const onUncaught = onFatal('uncaught exception');
  const onUnhandled = onFatal('unhandled rejection');
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUnhandled);

  try {
    await service.start();
  } catch (err) {
    // A start that gives up because a signal already began the shutdown is not a failure.
    if (!service.isShuttingDown) {
      const error = toK2Error(err);
      logger.error('start failed', { error: error.toJSON(), stack: err instanceof Error ? err.stack : undefined });
      void service.shutdown('start failed', 1);
    }
  }
  const code = await service.done;
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
  await flush();
  exit(code);
  return code;
}

function answerCli(name: string, cli: ServiceCli): number | undefined {
  return handleCli(cli.program ?? name, cli.argv ?? process.argv.slice(2), {
    help: () => serviceHelp(name, cli),
    args: cli.args,
    check: cli.check,
    io: {
      stdout: cli.out ?? ((t) => process.stdout.write(t)),
      stderr: cli.err ?? ((t) => process.stderr.write(t)),
      exit: () => undefined,
    },
  });
}

/** Waits until stdout and stderr have handed any buffered text (a long --help into a pipe) to the OS. */
async function drained(): Promise<void> {
  await Promise.all([process.stdout, process.stderr].map((s) => (s.writableNeedDrain ? once(s, 'drain') : undefined)));
}

/**
 * Lets winston's stream pipeline hand queued entries to the console and stdout drain before process.exit, for at
 * most FLUSH_LIMIT_MS: a reader that stopped reading our stdout pipe must not keep a stopped service alive (seen once
 * in the npm start smoke test: query-api logged "shutdown complete" and was SIGKILLed 30 s later).
 */
async function flush(): Promise<void> {
  const drained = (async () => {
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
  })();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, FLUSH_LIMIT_MS)))]);
  clearTimeout(timer);
}

const FLUSH_LIMIT_MS = 2000;

/** Config as logged at start-up: credential keys and the credentials inside URI values masked (`@k2/core`'s `redactConfig`). */
export function redact(config: object): Record<string, unknown> {
  return redactConfig(config);
}
