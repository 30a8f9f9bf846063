export * from './tools.js';
export * from './ports.js';
