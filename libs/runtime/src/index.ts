export * from './config';
export * from './metrics';
export * from './readiness';
export * from './http';
export * from './service';
export * from './cli';
