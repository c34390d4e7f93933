export * from './spark-sql';
