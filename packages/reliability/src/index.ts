export * from './random-source.js';
export * from './fault-schedule.js';
export * from './release-mix.js';
export * from './run-settings.js';
export * from './tally.js';
export * from './release-chain.js';
export * from './bad-input-corpus.js';
export * from './concurrency-limit.js';
