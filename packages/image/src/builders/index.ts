export * from './builder.js';
export * from './build-preflight.js';
export * from './build-secrets.js';
export * from './buildx.js';
export * from './buildx-failure.js';
export * from './buildx-instance.js';
export * from './buildah.js';
export * from './select-builder.js';
