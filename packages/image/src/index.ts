export * from './build-record.js';
export * from './builders/index.js';
export * from './dockerfile.js';
