export * from './types';
export * from './symbols';
export * from './mapper';
export * from './rest-mapper';
export * from './transport';
export * from './backfill';
export * from './adapter';
