export * from './dedup';
export * from './metrics';
export * from './table-sink';
export * from './sink';
export * from './maintenance';
export * from './bars';
