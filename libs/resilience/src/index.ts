export * from './circuit-breaker';
export * from './degradation';
export * from './backoff';
export * from './retry';
