export * from './wire-format';
export * from './serde';
