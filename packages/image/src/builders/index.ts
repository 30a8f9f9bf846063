export * from './builder.js';
export * from './build-preflight.js';
export * from './build-secrets.js';
export * from './buildx.js';
export * from './buildah.js';
export * from './select-builder.js';
