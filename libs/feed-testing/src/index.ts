export * from './streamer-harness';
