export * from './infra';
export * from './wait';
export * from './v2-samples';
export * from './kafka-read';
export * from './service-process';
export * from './simulator';
export * from './browser';
export * from './prometheus';
