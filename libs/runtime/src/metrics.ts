import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * One registry per service rather than prom-client's global one, so tests and tools can run several services
 * in one process without "metric already registered" clashes. Every series carries `service` as a default label
 * and the registry includes prom-client's process and Node.js runtime metrics
 * (https://github.com/siimon/prom-client#default-metrics).
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
