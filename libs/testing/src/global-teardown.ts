import { infraDown } from './infra';

/** Stops the infrastructure only when this jest run started it (npm test starts it once for all projects). */
export default async function globalTeardown(): Promise<void> {
  if ((globalThis as Record<string, unknown>)['__K2_INFRA_STARTED__'] === true && process.env['K2_KEEP_INFRA'] !== 'true') {
    infraDown();
  }
}
