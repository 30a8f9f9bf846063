#!/usr/bin/env node
// `kube-double serve ...`: the double as a standalone process. The package is TypeScript run in place
// (no build step), so this entry registers module hooks that transpile it on load, then runs the CLI.
import { register } from 'node:module';

register('./typescript-hooks.js', import.meta.url);
const { runServeCommand } = await import('../src/serve-command.ts');
process.exitCode = await runServeCommand(process.argv.slice(2));
