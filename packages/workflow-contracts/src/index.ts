export * from './workflow-file.js';
export * from './uses-reference.js';
export * from './callee-interface.js';
export * from './contracts.js';
export * from './readme-excerpts.js';
export * from './deploy-gates.js';
export * from './workflow-expressions.js';
export * from './executor/index.js';
