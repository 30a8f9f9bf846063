/**
 * action-deploy benchmark on the seven-service example (pods Ready 2 s after they start), each side
 * on a fresh kube-double with the real kubectl:
 *
 * - baseline: what a plain deploy script does, service after service: `kubectl apply`, `kubectl
 *   rollout status`, then patch the Service selector;
 * - ours: `node action-deploy/dist/index.js`, blue-green with a health check per service.
 *
 * Both deploy v1 first (not timed), then v2 (timed). Then ours deploys a v3 whose post-switch check
 * fails, and the engine's own timing from the failed probe to every Service back is reported.
 *
 * Last line: `deploy: ours=<s> baseline=<s> ratio=<ours/baseline> rollback_s=<s> kubectl_per_service=<n>`.
 */
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLogger, ProcessCommandRunner } from '@dreamscape/core';
import { formatManifests, Kubectl, renderOverlay, type KubeObject } from '@dreamscape/kube';
import { startKubeDouble } from '@dreamscape/kube-double';
import {
  buildRecords,
  deploy,
  digest,
  healthChecks,
  OVERLAYS,
  repoRoot,
  resolveKubectl,
  SERVICES,
  type ExampleCluster,
} from '@dreamscape/testkit';

const READY = '2s';

/** A `kubectl` on PATH that counts its invocations, then runs the pinned kubectl. */
function countingKubectl(real: string): { path: string; count: () => number; reset: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'ds-bench-kubectl-'));
  const counter = join(dir, 'calls');
  writeFileSync(counter, '');
  writeFileSync(join(dir, 'kubectl'), `#!/bin/sh\necho x >> '${counter}'\nexec '${real}' "$@"\n`);
  chmodSync(join(dir, 'kubectl'), 0o755);
  return {
    path: `${dir}:${process.env.PATH ?? ''}`,
    count: () =>
      readFileSync(counter, 'utf8')
        .split('\n')
        .filter((l) => l !== '').length,
    reset: () => {
      writeFileSync(counter, '');
    },
  };
}

/** The rendered example with every image pinned at `version`. */
async function rendered(kubeconfig: string, version: string): Promise<KubeObject[]> {
  const logger = new MemoryLogger();
  const kubectl = new Kubectl({
    runner: new ProcessCommandRunner({ logger }),
    logger,
    kubectlPath: await resolveKubectl(),
    kubeconfig,
    cacheDir: mkdtempSync(join(tmpdir(), 'ds-bench-render-')),
  });
  const out = await renderOverlay({
    overlayDir: join(repoRoot, OVERLAYS, 'dev'),
    images: SERVICES.map((s) => ({ name: `ghcr.io/dreamscape/${s}`, digest: digest(s, version) })),
    kubectl,
  });
  return out.objects;
}

/** The plain script: for each service in turn, apply its objects, wait for the rollout, point the Service at the version. */
async function baseline(kubeconfig: string, version: string): Promise<number> {
  const objects = await rendered(kubeconfig, version);
  // One discovery cache for the whole script, as a script on one machine would have.
  const runner = new ProcessCommandRunner({ logger: new MemoryLogger() });
  const kubectl = async (args: string[], stdin?: string): Promise<void> => {
    await runner.run({
      tool: real,
      args: [`--kubeconfig=${kubeconfig}`, `--cache-dir=${baselineCache}`, ...args],
      env: { HOME: baselineCache },
      ...(stdin === undefined ? {} : { stdin }),
      timeoutMs: 120_000,
    });
  };
  const started = Date.now();
  const shared = objects.filter(
    (o) => !['Deployment', 'Service', 'HorizontalPodAutoscaler'].includes(o.kind),
  );
  await kubectl(['apply', '-f', '-'], formatManifests(shared));
  for (const s of SERVICES) {
    const own = objects
      .filter((o) => o.metadata.name === s && ['Deployment', 'HorizontalPodAutoscaler'].includes(o.kind))
      .map((o) => (o.kind === 'Deployment' ? withVersionLabel(o, version) : o));
    const service = objects.find((o) => o.kind === 'Service' && o.metadata.name === s);
    await kubectl(
      ['apply', '-f', '-'],
      formatManifests([...own, ...(service === undefined ? [] : [service])]),
    );
    await kubectl(['rollout', 'status', `deployment/${s}`, '-n', 'dreamscape-dev', '--timeout=120s']);
    await kubectl([
      'patch',
      'service',
      s,
      '-n',
      'dreamscape-dev',
      '--type=merge',
      `--patch=${JSON.stringify({ spec: { selector: { 'app.kubernetes.io/version': version } } })}`,
    ]);
  }
  return (Date.now() - started) / 1000;
}

/** The script labels pods with their version so its Service patch has something to select. */
function withVersionLabel(o: KubeObject, version: string): KubeObject {
  const d = structuredClone(o) as KubeObject & {
    spec: { template: { metadata: { labels: Record<string, string> } } };
  };
  d.spec.template.metadata.labels['app.kubernetes.io/version'] = version;
  return d;
}

const real = await resolveKubectl();
const baselineCache = mkdtempSync(join(tmpdir(), 'ds-bench-baseline-'));

// Baseline, on its own double.
const baseDouble = await startKubeDouble({ behaviours: [{ image: '*', ready: READY }] });
let baselineSeconds: number;
try {
  await baseline(baseDouble.kubeconfigPath, 'v1');
  baselineSeconds = await baseline(baseDouble.kubeconfigPath, 'v2');
} finally {
  await baseDouble.close();
}
console.log(
  `baseline (apply, rollout status, patch; service after service): ${baselineSeconds.toFixed(2)} s`,
);

// Ours, on a fresh double, through the bundled action.
const double = await startKubeDouble({ behaviours: [{ image: '*', ready: READY }] });
let oursSeconds: number;
let rollbackSeconds: number;
let perService: number;
try {
  const counting = countingKubectl(real);
  const cluster: ExampleCluster = { double, path: counting.path };
  const checks = healthChecks(SERVICES)
    .replace(/successes: 2/g, 'successes: 1')
    .replace(/interval: 200ms/g, 'interval: 100ms');
  const inputs = (version: string): Record<string, string> => ({
    images: buildRecords(version),
    'health-checks': checks,
    'verify-window': '0s',
  });
  const v1 = await deploy(cluster, inputs('v1'));
  if (v1.outputs.result !== 'promoted') throw new Error(`v1 did not deploy:\n${v1.stdout}`);
  counting.reset();
  const v2 = await deploy(cluster, inputs('v2'));
  if (v2.outputs.result !== 'promoted') throw new Error(`v2 did not deploy:\n${v2.stdout}`);
  oursSeconds = v2.durationMs / 1000;
  perService = counting.count() / SERVICES.length;
  const timings = (JSON.parse(v2.outputs.release ?? '{}') as { timings: Record<string, number> }).timings;
  console.log(
    `ours (blue-green, gates, bundled action): ${oursSeconds.toFixed(2)} s; phases: ${Object.entries(timings)
      .map(([k, v]) => `${k}=${(v / 1000).toFixed(2)}s`)
      .join(' ')}`,
  );
  console.log(`kubectl processes for ${SERVICES.length} services: ${counting.count()}`);

  // A v3 whose smoke check fails after the switch: detection to every Service back.
  double.setBehaviours([
    {
      image: `*@${digest('gateway', 'v3')}`,
      ready: READY,
      http: { '/health': { status: 200 }, '/smoke': { status: 500 } },
    },
    { image: '*', ready: READY, http: { '/health': { status: 200 }, '/smoke': { status: 200 } } },
  ]);
  const smoke = `${checks}\n- name: smoke\n  service: gateway\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 100ms`;
  const v3 = await deploy(cluster, {
    images: buildRecords('v3'),
    'health-checks': smoke,
    'verify-window': '3s',
  });
  if (v3.outputs.result !== 'rolled-back') throw new Error(`v3 was not rolled back:\n${v3.stdout}`);
  rollbackSeconds =
    (JSON.parse(v3.outputs.release ?? '{}') as { timings: { rollback: number } }).timings.rollback / 1000;
  if (double.violations().length > 0)
    throw new Error(`invariant violations: ${JSON.stringify(double.violations())}`);
} finally {
  await double.close();
}
console.log(
  `deploy: ours=${oursSeconds.toFixed(2)} baseline=${baselineSeconds.toFixed(2)} ratio=${(oursSeconds / baselineSeconds).toFixed(3)} rollback_s=${rollbackSeconds.toFixed(3)} kubectl_per_service=${perService.toFixed(2)}`,
);
