/**
 * `npm run demo`: the whole pipeline on this machine. Builds the example services with
 * action-build, scans them with action-scan, deploys them blue-green with action-deploy (a broken
 * release switches back by itself), rolls back with action-rollback, then releases by canary (a bad
 * canary is aborted by its Prometheus analysis) and from the payment Helm chart (a failed migration
 * Job stops a release before it goes live): the four bundled actions
 * run as a runner runs them, against a registry and a Kubernetes API double on 127.0.0.1, or a real
 * registry and cluster (see docs/demo.md).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDemo } from './demo/run-demo.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
process.exitCode = await runDemo(process.argv.slice(2), process.env, repoRoot);
