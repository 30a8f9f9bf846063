/**
 * action-rollback benchmark on the seven-service example, each path on a fresh kube-double with the
 * real kubectl and pods Ready 2 s after they start:
 *
 * - fast: deploy v1, deploy v2, roll back (blue still runs v1, Ready): no pod starts;
 * - warm: the same with `previous: scale-down`, so blue must be scaled up again;
 * - reapply: deploy v1, v2, v3, roll back to revision 1, which neither color runs.
 *
 * Each figure is the time from the bundle's first log line to the moment every Service of the app
 * selects the target color, as the double sees it.
 *
 * Last line: `rollback: fast_s=<s> warm_s=<s> reapply_s=<s>`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeDouble } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  healthChecks,
  repoRoot,
  serviceColors,
  SERVICES,
  startCluster,
  type ExampleCluster,
} from '@dreamscape/testkit';

const CHECKS = healthChecks(SERVICES)
  .replace(/successes: 2/g, 'successes: 1')
  .replace(/interval: 200ms/g, 'interval: 100ms');

async function deployAll(
  cluster: ExampleCluster,
  versions: readonly string[],
  extra: Record<string, string> = {},
): Promise<void> {
  for (const v of versions) {
    const r = await deploy(cluster, {
      images: buildRecords(v),
      'health-checks': CHECKS,
      'verify-window': '0s',
      ...extra,
    });
    if (r.outputs.result !== 'promoted') throw new Error(`deploy ${v} failed:\n${r.stdout}`);
  }
}

/** Runs the rollback bundle; seconds from its first stdout byte until every Service selects `color`. */
async function timedRollback(
  cluster: ExampleCluster,
  inputs: Record<string, string>,
  color: string,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ds-bench-rollback-'));
  const files = {
    GITHUB_OUTPUT: join(dir, 'out'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary'),
    GITHUB_STATE: join(dir, 'state'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const env: Record<string, string> = {
    PATH: cluster.path,
    HOME: dir,
    RUNNER_TEMP: dir,
    KUBECONFIG: cluster.double.kubeconfigPath,
    GITHUB_REPOSITORY: 'dreamscape/platform',
    GITHUB_RUN_ID: '7',
    ...files,
    INPUT_ENVIRONMENT: 'dev',
    INPUT_APP: 'dreamscape',
    'INPUT_VERIFY-WINDOW': '0s',
    'INPUT_ROLLOUT-TIMEOUT': '60s',
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const switched = (double: KubeDouble): boolean => {
    const colors = serviceColors(double);
    return SERVICES.every((s) => colors[s] === color);
  };
  if (switched(cluster.double)) throw new Error(`the Services already select ${color}`);
  let first = 0;
  let done = 0;
  let output = '';
  const poll = setInterval(() => {
    if (first !== 0 && done === 0 && switched(cluster.double)) done = performance.now();
  }, 2);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [join(repoRoot, 'action-rollback', 'dist', 'index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => {
      if (first === 0) first = performance.now();
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', resolve);
  });
  clearInterval(poll);
  if (code !== 0 || done === 0) throw new Error(`rollback failed (exit ${String(code)}):\n${output}`);
  return (done - first) / 1000;
}

async function scenario(name: string, run: (cluster: ExampleCluster) => Promise<number>): Promise<number> {
  const cluster = await startCluster([{ image: '*', ready: '2s' }]);
  try {
    const seconds = await run(cluster);
    if (cluster.double.violations().length > 0)
      throw new Error(`${name}: invariant violations ${JSON.stringify(cluster.double.violations())}`);
    console.log(`${name}: ${seconds.toFixed(3)} s from the first log line to every Service switched`);
    return seconds;
  } finally {
    await cluster.double.close();
  }
}

const fast = await scenario('fast path (previous color still Ready)', async (c) => {
  await deployAll(c, ['v1', 'v2']);
  return timedRollback(c, {}, 'blue');
});
const warm = await scenario('warm-up path (previous color scaled down)', async (c) => {
  await deployAll(c, ['v1', 'v2'], { previous: 'scale-down' });
  return timedRollback(c, {}, 'blue');
});
const reapply = await scenario('re-apply path (revision 1, neither color runs it)', async (c) => {
  await deployAll(c, ['v1', 'v2', 'v3']);
  return timedRollback(c, { to: '1' }, 'green');
});
console.log(`rollback: fast_s=${fast.toFixed(3)} warm_s=${warm.toFixed(3)} reapply_s=${reapply.toFixed(3)}`);
