import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JsonObject } from '@dreamscape/kube-double';
import {
  deploy,
  digest,
  MIXED_NAMESPACE,
  MIXED_OVERLAY,
  mixedImages,
  realWrites,
  releaseRecords,
  rollback,
  serviceColors,
  startCluster,
  type ActionRunResult,
  type ExampleCluster,
} from '@dreamscape/testkit';

// The shapes real applications have and the first example did not: no HPA, a worker that no Service
// selects, a CronJob, a redis StatefulSet behind a headless Service, a Deployment with a claim behind
// a Service. Each test here failed on the engine before these shapes were handled.

const NS = MIXED_NAMESPACE;
const CHECKS = [
  '- name: web\n  service: web\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 2',
  '- name: api\n  service: api\n  port: http\n  path: /health\n  interval: 100ms\n  successes: 2',
  '- name: smoke\n  service: web\n  port: http\n  path: /smoke\n  when: post-switch\n  interval: 100ms\n  successes: 1',
].join('\n');

let cluster: ExampleCluster;
beforeAll(async () => {
  cluster = await startCluster([
    // v-stuck: the candidate never becomes Ready; v-smoke: it fails the post-switch smoke test.
    { image: `*@${digest('web', 'v-stuck')}`, ready: 'never' },
    {
      image: `*@${digest('web', 'v-smoke')}`,
      ready: '200ms',
      http: { '/smoke': { status: 500, body: 'broken' } },
    },
    { image: '*', ready: '200ms', http: { '/smoke': { status: 200, body: 'ok' } } },
  ]);
});
afterAll(async () => {
  await cluster.double.close();
});

function release(version: string, extra: Record<string, string> = {}): Promise<ActionRunResult> {
  return deploy(cluster, {
    overlay: MIXED_OVERLAY,
    app: 'shop',
    images: mixedImages(version),
    'health-checks': CHECKS,
    'verify-window': '500ms',
    ...extra,
  });
}

function objects(resource: string): JsonObject[] {
  return cluster.double.objects(resource, NS);
}

function named(resource: string, name: string): JsonObject | undefined {
  return objects(resource).find((o) => (o.metadata as JsonObject).name === name);
}

function imageOf(resource: string, name: string): string {
  const o = named(resource, name);
  const spec = o?.spec as JsonObject | undefined;
  const podSpec = (
    resource === 'cronjobs'
      ? (((spec?.jobTemplate as JsonObject).spec as JsonObject).template as JsonObject).spec
      : (spec?.template as JsonObject).spec
  ) as JsonObject;
  return ((podSpec.containers as JsonObject[])[0]?.image as string | undefined) ?? '';
}

/** The version a workload runs, from its image digest. */
function versionOf(resource: string, name: string, service: string): string {
  const image = imageOf(resource, name);
  for (const v of ['v1', 'v-stuck', 'v3', 'v-smoke', 'v5', 'v6'])
    if (image.endsWith(digest(service, v))) return v;
  return image;
}

function redisPodUid(): unknown {
  return (named('pods', 'redis-0')?.metadata as JsonObject | undefined)?.uid;
}

describe('a release of an application with workers, a StatefulSet and no HPA', () => {
  let redisUid: unknown;

  it('v1: the stateful workloads are applied in place, never colored', async () => {
    const r = await release('v1');
    expect(r.errors).toEqual([]);
    expect(r.outputs.result).toBe('promoted');
    const deployments = objects('deployments').map((d) => (d.metadata as JsonObject).name);
    expect(deployments.sort()).toEqual(['api-blue', 'files', 'web-blue', 'worker']);
    expect(objects('statefulsets').map((s) => (s.metadata as JsonObject).name)).toEqual(['redis']);
    expect(serviceColors(cluster.double, NS)).toMatchObject({
      web: 'blue',
      api: 'blue',
      files: undefined,
      redis: undefined,
    });
    redisUid = redisPodUid();
    expect(redisUid).toBeDefined();
    expect(r.summary).toContain('worker');
    expect(r.summary).toMatch(/StatefulSet\/redis/);
  }, 180_000);

  it('a candidate that never becomes Ready is scaled down, and the next deploy applies without a conflict', async () => {
    const stuck = await release('v-stuck', { 'rollout-timeout': '3s' });
    expect(stuck.outputs.result).toBe('failed');
    expect(named('deployments', 'web-green')?.spec).toMatchObject({ replicas: 0 });
    // The stateful file store went ahead before the candidate, and came back with the failure.
    expect(versionOf('deployments', 'files', 'files')).toBe('v1');
    // Before, the scale-down made `replicas` owned by "dreamscape with subresource scale", and the
    // next server-side apply of green conflicted with it: the environment could not deploy again.
    const next = await release('v3');
    expect(next.errors).toEqual([]);
    expect(next.outputs).toMatchObject({ result: 'promoted', 'active-color': 'green' });
    expect(versionOf('deployments', 'worker', 'worker')).toBe('v3');
    expect(versionOf('cronjobs', 'cleanup', 'worker')).toBe('v3');
  }, 240_000);

  it('a release that switches itself back takes the worker and the CronJob back with it', async () => {
    const r = await release('v-smoke');
    expect(r.outputs.result).toBe('rolled-back');
    expect(serviceColors(cluster.double, NS)).toMatchObject({ web: 'green', api: 'green' });
    // The worker ran v-smoke while the Services did; it returned with them.
    expect(versionOf('deployments', 'worker', 'worker')).toBe('v3');
    expect(versionOf('cronjobs', 'cleanup', 'worker')).toBe('v3');
    expect(versionOf('deployments', 'files', 'files')).toBe('v3');
    expect(named('deployments', 'web-blue')?.spec).toMatchObject({ replicas: 0 });
  }, 240_000);

  it('a rollback brings every workload to the target release, the stateful ones stay', async () => {
    const r = await rollback(cluster, { app: 'shop', 'health-checks': CHECKS });
    expect(r.errors).toEqual([]);
    expect(r.outputs).toMatchObject({ result: 'rolled-back', 'to-revision': '1', 'active-color': 'blue' });
    expect(versionOf('deployments', 'web-blue', 'web')).toBe('v1');
    expect(versionOf('deployments', 'worker', 'worker')).toBe('v1');
    expect(versionOf('cronjobs', 'cleanup', 'worker')).toBe('v1');
    expect(versionOf('deployments', 'files', 'files')).toBe('v1');
    expect(serviceColors(cluster.double, NS)).toMatchObject({ web: 'blue', api: 'blue' });
  }, 240_000);

  it('deploys, and rolls back, again and again, and never replaces the redis pod', async () => {
    for (const v of ['v5', 'v6']) {
      const r = await release(v);
      expect([v, r.errors]).toEqual([v, []]);
      expect(r.outputs.result).toBe('promoted');
      expect(versionOf('deployments', 'worker', 'worker')).toBe(v);
      expect(versionOf('deployments', 'files', 'files')).toBe(v);
    }
    const back = await rollback(cluster, { app: 'shop', 'health-checks': CHECKS });
    expect(back.outputs.result).toBe('rolled-back');
    expect(versionOf('deployments', 'worker', 'worker')).toBe('v5');
    expect(redisPodUid()).toBe(redisUid);
    expect(objects('deployments').map((d) => (d.metadata as JsonObject).name)).not.toContain('files-blue');
    expect(cluster.double.violations()).toEqual([]);
    expect(releaseRecords(cluster.double, NS).filter((x) => x.result === 'in-progress')).toEqual([]);
  }, 300_000);

  it('refuses to change the strategy in place, before any write', async () => {
    const before = realWrites(cluster.double).length;
    const r = await release('v7', { strategy: 'rolling' });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toContain(
      "shop in dev is released blue-green (revision 8 was released blue-green); this run asks for 'rolling'. Changing the strategy in place is refused: nothing was written.",
    );
    expect(r.errors.join('\n')).toContain('Changing the strategy of an environment');
    expect(realWrites(cluster.double).slice(before)).toEqual([]);
    expect(objects('deployments').map((d) => (d.metadata as JsonObject).name)).not.toContain('web');
  }, 120_000);
});

describe('a first deploy into a namespace the overlay creates', () => {
  const overlay = 'action-deploy/__tests__/fixtures/new-namespace-invalid-overlay';
  const images = `ghcr.io/shop/web=ghcr.io/shop/web@${digest('web', 'v1')}`;

  it('plan mode does not call it ready: the objects of the new namespace could not be checked', async () => {
    const r = await deploy(cluster, { overlay, app: 'fresh', images, mode: 'plan' });
    expect(r.outputs.result).toBe('planned');
    expect(r.outputs.plan).toMatch(/Not fully validated: \d+ objects could not be checked by the API server/);
    expect(r.outputs.plan).not.toContain('Ready to deploy');
    // Listed as not checked, and counted, like what a plan without credentials cannot check.
    expect(r.outputs['not-checked']).toBe('1');
    expect(r.outputs.plan).toMatch(
      /\n\| the server-side dry run of \d+ objects in namespace fresh \| namespace fresh does not exist yet: a deploy creates it, then checks them before it writes anything else \|\n/,
    );
    expect(realWrites(cluster.double).filter((w) => w.namespace === 'fresh' || w.name === 'fresh')).toEqual(
      [],
    );
  }, 120_000);

  it('validates every object before it writes anything but the Namespace', async () => {
    const r = await deploy(cluster, { overlay, app: 'fresh', images });
    expect(r.outputs.result).toBe('failed');
    expect(r.errors.join('\n')).toContain('The API server refused the release in a dry run');
    expect(r.errors.join('\n')).toContain('NetworkPolicy/web');
    const writes = realWrites(cluster.double).filter((w) => w.namespace === 'fresh' || w.name === 'fresh');
    expect(writes.map((w) => `${w.verb} ${w.kind}/${w.name}`)).toEqual(['apply Namespace/fresh']);
  }, 120_000);
});
