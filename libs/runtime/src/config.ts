import { cfg } from '@k2/core';

export const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/**
 * The config fragment every service shares; spread it into the app's spec:
 * `loadConfig({ service, spec: { ...runtimeConfigSpec({ metricsPort: 9401 }), ...ownFields } })`.
 *
 * METRICS_HOST defaults to 0.0.0.0 so the probes and scrapes reach a container; SHUTDOWN_TIMEOUT_MS defaults
 * to 25 s, inside Kubernetes' default 30 s terminationGracePeriodSeconds
 * (https://kubernetes.io/docs/concepts/containers/container-lifecycle-hooks/#hook-handler-execution), so the
 * service finishes its own shutdown before the kubelet sends SIGKILL.
 * Without a `metricsPort` default, METRICS_PORT is optional and reads as undefined when unset.
 */
export function runtimeConfigSpec(defaults: { metricsPort?: number } = {}) {
  return {
    metricsPort: cfg.port({ env: 'METRICS_PORT', default: defaults.metricsPort, doc: 'HTTP port of /metrics, /healthz, /readyz; 0 = ephemeral' }),
    metricsHost: cfg.string({ env: 'METRICS_HOST', default: '0.0.0.0', pattern: /^\S+$/, doc: 'Interface the HTTP server binds' }),
    logLevel: cfg.oneOf<LogLevel>({ env: 'LOG_LEVEL', default: 'info', values: LOG_LEVELS, doc: 'Least severity of the JSON log lines on stdout' }),
    shutdownTimeoutMs: cfg.int({ env: 'SHUTDOWN_TIMEOUT_MS', default: DEFAULT_SHUTDOWN_TIMEOUT_MS, min: 1, max: 600_000, doc: 'Deadline of the graceful shutdown after SIGTERM/SIGINT; past it the exit code is 1' }),
  };
}

export interface RuntimeConfig {
  readonly metricsPort: number;
  readonly metricsHost: string;
  readonly logLevel: LogLevel;
  readonly shutdownTimeoutMs: number;
}
