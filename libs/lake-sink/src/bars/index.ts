export * from './aggregate';
export * from './fold';
export * from './metrics';
export * from './maintainer';
