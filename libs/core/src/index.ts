export * from './errors';
export * from './config';
export * from './logger';
export * from './redact';
export * from './lossless-json';
export * from './cli';
