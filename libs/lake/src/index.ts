export * from './tables';
export * from './offsets';
export * from './rows';
export * from './bars';
