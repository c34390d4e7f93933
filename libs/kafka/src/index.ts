export * from './topics';
export * from './errors';
export * from './producer';
export * from './consumer';
export * from './admin';
export * from './config';
export * from './tail';
export * from './reader';
