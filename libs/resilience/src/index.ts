export * from './circuit-breaker';
export * from './degradation';
