export * from './tools.js';
export * from './ports.js';
export * from './registry.js';
export * from './action-runner.js';
export * from './base-image.js';
