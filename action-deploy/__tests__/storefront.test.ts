import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JsonObject } from '@dreamscape/kube-double';
import {
  deploy,
  digest,
  journalProblems,
  liveImageProblems,
  releaseRecords,
  rollback,
  runKubectl,
  serviceColors,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';

// examples/storefront, a dozen services with workers, a CronJob, a redis StatefulSet and no HPA,
// through the bundled actions as a runner runs them: v1, v2, a v3 that fails after the switch, a
// rollback, v4, a rollback, and a deploy again. Every step ends as expected, the invariant monitor
// records nothing, and the redis pod is never replaced.

const OVERLAY = 'examples/storefront/k8s/overlays/prod';
const CLUSTER_DIR = fileURLToPath(new URL('../../examples/storefront/cluster', import.meta.url));
const NS = 'storefront';
const SERVICES = [
  'frontend',
  'cart',
  'catalog',
  'checkout',
  'currency',
  'email',
  'payment',
  'recommendation',
  'shipping',
  'ads',
  'search',
  'reviews',
];
const BUILT = [...SERVICES, 'order-worker', 'catalog-sync'];
const CHECKS = [
  ...SERVICES.map(
    (s) => `- name: ${s}\n  service: ${s}\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 1`,
  ),
  '- name: smoke\n  service: frontend\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 100ms\n  successes: 1',
].join('\n');

function images(version: string): string {
  return BUILT.map(
    (s) => `ghcr.io/storefront-example/${s}=ghcr.io/storefront-example/${s}@${digest(s, version)}`,
  ).join('\n');
}

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster([
    {
      image: `*@${digest('frontend', 'v3')}`,
      ready: '200ms',
      http: { '/smoke': { status: 500, body: 'checkout broken' } },
    },
    { image: '*', ready: '200ms', http: { '/smoke': { status: 200, body: 'ok' } } },
  ]);
  // What the platform team installs once: the CRDs, the IngressClass, the PriorityClass.
  const installed = await runKubectl(['apply', '--server-side', '-k', CLUSTER_DIR], {
    kubeconfig: cluster.double.kubeconfigPath,
  });
  expect(installed.exitCode).toBe(0);
});
afterAll(async () => {
  await cluster.double.close();
});

function release(version: string): Promise<ActionRunResult> {
  return deploy(cluster, {
    overlay: OVERLAY,
    app: 'storefront',
    environment: 'prod',
    images: images(version),
    'health-checks': CHECKS,
    'verify-window': '500ms',
  });
}

function back(): Promise<ActionRunResult> {
  return rollback(cluster, { app: 'storefront', environment: 'prod', 'health-checks': CHECKS });
}

function redisPod(): JsonObject | undefined {
  return cluster.double.objects('pods', NS).find((p) => (p.metadata as JsonObject).name === 'cart-redis-0');
}

/** The version the order worker runs. */
function workerVersion(): string {
  const worker = cluster.double
    .objects('deployments', NS)
    .find((d) => (d.metadata as JsonObject).name === 'order-worker') as
    { spec: { template: { spec: { containers: { image: string }[] } } } } | undefined;
  const image = worker?.spec.template.spec.containers[0]?.image ?? '';
  return ['v1', 'v2', 'v3', 'v4', 'v5'].find((v) => image.endsWith(digest('order-worker', v))) ?? image;
}

function expectSettled(): void {
  expect(liveImageProblems(cluster.double, NS)).toEqual([]);
  expect(journalProblems(cluster.double, NS)).toEqual([]);
  expect(cluster.double.violations()).toEqual([]);
}

describe('examples/storefront through the bundled actions', () => {
  let redisUid: unknown;

  it('v1 and v2 are promoted', async () => {
    const v1 = await release('v1');
    expect(v1.errors).toEqual([]);
    expect(v1.outputs).toMatchObject({ result: 'promoted', 'active-color': 'blue' });
    redisUid = (redisPod()?.metadata as JsonObject | undefined)?.uid;
    expect(redisUid).toBeDefined();
    const v2 = await release('v2');
    expect(v2.errors).toEqual([]);
    expect(v2.outputs).toMatchObject({ result: 'promoted', 'active-color': 'green' });
    expect(workerVersion()).toBe('v2');
    expectSettled();
  }, 300_000);

  it('v3 fails after the switch and switches itself back, workers included', async () => {
    const v3 = await release('v3');
    expect(v3.outputs).toMatchObject({ result: 'rolled-back', 'active-color': 'green' });
    expect(v3.errors.join('\n')).toContain('post-switch health gates failed: smoke');
    expect(workerVersion()).toBe('v2');
    for (const s of SERVICES) expect([s, serviceColors(cluster.double, NS)[s]]).toEqual([s, 'green']);
    expectSettled();
  }, 300_000);

  it('a rollback, v4, a rollback, and a deploy again', async () => {
    const first = await back();
    expect(first.errors).toEqual([]);
    expect(first.outputs).toMatchObject({
      result: 'rolled-back',
      'to-revision': '1',
      'active-color': 'blue',
    });
    expect(workerVersion()).toBe('v1');
    expectSettled();
    const v4 = await release('v4');
    expect(v4.outputs).toMatchObject({ result: 'promoted', 'active-color': 'green' });
    expect(workerVersion()).toBe('v4');
    const second = await back();
    expect(second.errors).toEqual([]);
    expect(second.outputs.result).toBe('rolled-back');
    expectSettled();
    const v5 = await release('v5');
    expect(v5.errors).toEqual([]);
    expect(v5.outputs.result).toBe('promoted');
    expect(workerVersion()).toBe('v5');
    expectSettled();
    // The redis pod ran through every release and rollback: no color switch ever replaced it.
    expect((redisPod()?.metadata as JsonObject | undefined)?.uid).toBe(redisUid);
    expect(releaseRecords(cluster.double, NS).map((r) => r.result)).toEqual([
      'promoted',
      'promoted',
      'promoted',
      'promoted',
      'rolled-back',
      'promoted',
      'promoted',
    ]);
  }, 600_000);
});
