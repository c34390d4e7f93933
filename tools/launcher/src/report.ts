import path from 'node:path';
import type { Child } from './child';
import { SIMULATOR, SIMULATOR_PORTS, type LaunchPlan } from './plan';

/** A path inside the repository relative to it (.data/logs), any other as it is. */
export function shownPath(root: string, p: string): string {
  const rel = path.relative(root, p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/**
 * What `npm start` prints once everything answers /readyz: the first line ("all five services ready in 41.2 s")
 * is what the smoke test waits for; then where to look.
 */
export function readyReport(seconds: number, plan: LaunchPlan, children: readonly Child[], root: string): string {
  const services = children.filter((c) => c.spec.name !== SIMULATOR);
  // The child's port is query-api's ops port (its /readyz); the API is on the public port.
  const api = `http://127.0.0.1:${plan.apiPort}`;
  const logs = shownPath(root, plan.logDir);
  const lines = [
    '',
    `all ${services.length === 5 ? 'five' : services.length} services ready in ${seconds.toFixed(1)} s`,
    `  live page          ${api}/?symbol=BTCUSDT`,
    `  trades             ${api}/v1/trades?symbol=BTCUSDT&window_minutes=15`,
    `  ASX symbols        ${api}/v1/symbols?exchange=asx   (requests need the X-API-Key header printed above)`,
    ...services.map((c) => `  ${(c.spec.name === 'query-api' ? 'query-api ops' : c.spec.name).padEnd(18)} http://127.0.0.1:${c.port}/metrics`),
    ...(plan.simulated ? [`  exchange simulator http://127.0.0.1:${SIMULATOR_PORTS.admin}/state`] : []),
    `  logs               ${logs}/<service>.log`,
    'Ctrl-C stops them; a service that exits stops all of them (npm start then exits 1 with its error).',
    '',
  ];
  return lines.join('\n');
}
