import { infraUp } from './infra';

/** Jest globalSetup for integration projects: real Kafka, registry, Iceberg REST, S3 and the Python venv. */
export default async function globalSetup(): Promise<void> {
  const started = infraUp();
  (globalThis as Record<string, unknown>)['__K2_INFRA_STARTED__'] = started;
}
