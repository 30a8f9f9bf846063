export * from './builder.js';
