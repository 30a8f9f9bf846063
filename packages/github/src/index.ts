export * from './client.js';
export * from './context.js';
export * from './sticky-comment.js';
export * from './deployments.js';
