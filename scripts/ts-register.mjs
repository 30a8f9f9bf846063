// `node --import ./scripts/ts-register.mjs file.ts` runs a TypeScript entry point of this repository.
import { register } from 'node:module';

register('./ts-loader.mjs', import.meta.url);
