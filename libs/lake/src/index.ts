export * from './tables';
export * from './offsets';
export * from './rows';
export * from './avro-csv';
export * from './bars';
