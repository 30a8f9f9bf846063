import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { podTemplateHash } from '../src/deployment-controller.js';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { resourceTypeOfKind } from '../src/resource-table.js';
import { deployment, kubectlFor, namespace, ok, service, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({ timeScale: 20, behaviours: [{ image: '*:never', ready: 'never' }] });
  k = kubectlFor(double);
});

afterAll(async () => {
  expect(double.errors()).toEqual([]);
  await double.close();
});

const meta = (o: JsonObject): JsonObject => o.metadata as JsonObject;
const isReady = (pod: JsonObject): boolean =>
  (((pod.status as JsonObject | undefined)?.conditions as JsonObject[] | undefined) ?? []).some(
    (c) => c.type === 'Ready' && c.status === 'True',
  );

/** Records, after every change in a namespace, how many pods of an app exist and how many are Ready. */
function trackPods(
  ns: string,
  app: string,
): { samples: { total: number; ready: number; images: string[] }[]; stop: () => void } {
  const podType = resourceTypeOfKind('Pod');
  const samples: { total: number; ready: number; images: string[] }[] = [];
  const stop = double.api.store.subscribe((change) => {
    if (change.resourceType !== podType) return;
    const pods = double
      .objects('pods', ns)
      .filter((p) => (meta(p).labels as JsonObject | undefined)?.app === app);
    samples.push({
      total: pods.length,
      ready: pods.filter(isReady).length,
      images: pods.map(
        (p) => (((p.spec as JsonObject).containers as JsonObject[])[0]?.image as string | undefined) ?? '',
      ),
    });
  });
  return { samples, stop };
}

async function applyAndWait(ns: string, manifest: Record<string, unknown>, name: string): Promise<void> {
  ok(await k(['apply', '--server-side', '-n', ns, '-f', '-'], { stdin: yaml(manifest) }));
  ok(await k(['rollout', 'status', `deploy/${name}`, '-n', ns, '--timeout=60s']));
}

describe('rolling updates', () => {
  it('stay within maxSurge and maxUnavailable', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('rolling')) }));
    const spec = { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } };
    await applyAndWait('rolling', deployment('app', 'app:1', { replicas: 4, spec }), 'app');
    const tracker = trackPods('rolling', 'app');
    await applyAndWait('rolling', deployment('app', 'app:2', { replicas: 4, spec }), 'app');
    tracker.stop();
    expect(tracker.samples.length).toBeGreaterThan(4);
    expect(Math.max(...tracker.samples.map((s) => s.total))).toBe(5);
    expect(Math.min(...tracker.samples.map((s) => s.ready))).toBeGreaterThanOrEqual(4);
    const last = tracker.samples.at(-1);
    expect(last?.images).toEqual(['app:2', 'app:2', 'app:2', 'app:2']);
    const status = double.objects('deployments', 'rolling')[0]?.status as JsonObject;
    expect(status).toMatchObject({
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
      observedGeneration: 2,
    });
    expect(status.unavailableReplicas).toBeUndefined();
  });

  it('Recreate removes every old pod before the first new one starts', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('recreate')) }));
    const spec = { strategy: { type: 'Recreate' } };
    await applyAndWait('recreate', deployment('app', 'app:1', { replicas: 2, spec }), 'app');
    const tracker = trackPods('recreate', 'app');
    await applyAndWait('recreate', deployment('app', 'app:2', { replicas: 2, spec }), 'app');
    tracker.stop();
    const firstNew = tracker.samples.findIndex((s) => s.images.includes('app:2'));
    expect(firstNew).toBeGreaterThan(0);
    expect(tracker.samples.slice(firstNew).every((s) => !s.images.includes('app:1'))).toBe(true);
    expect(tracker.samples.some((s) => s.total === 0)).toBe(true);
  });

  it('prunes old ReplicaSets beyond revisionHistoryLimit', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('history')) }));
    for (const version of ['1', '2', '3', '4'])
      await applyAndWait(
        'history',
        deployment('app', `app:${version}`, { replicas: 1, spec: { revisionHistoryLimit: 1 } }),
        'app',
      );
    await double.settle();
    const sets = double.objects('replicasets', 'history');
    expect(
      sets.map((rs) => (meta(rs).annotations as JsonObject)['deployment.kubernetes.io/revision']).sort(),
    ).toEqual(['3', '4']);
  });

  it('counts pods available only after minReadySeconds of simulated time', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('minready')) }));
    // Timed by the double's own writes, as they happen, so a slow test process cannot shorten the
    // interval it measures.
    const podType = resourceTypeOfKind('Pod');
    const deployType = resourceTypeOfKind('Deployment');
    let podReadyAt: number | undefined;
    let availableAt: number | undefined;
    const statuses: JsonObject[] = [];
    const stop = double.api.store.subscribe((change) => {
      if (meta(change.object).namespace !== 'minready') return;
      if (change.resourceType === podType && podReadyAt === undefined && isReady(change.object))
        podReadyAt = Date.now();
      if (change.resourceType === deployType) {
        const status = (change.object.status as JsonObject | undefined) ?? {};
        statuses.push(status);
        if (availableAt === undefined && status.availableReplicas === 1) availableAt = Date.now();
      }
    });
    try {
      // 40 simulated seconds at 20x: two real seconds between Ready and available.
      ok(
        await k(['apply', '--server-side', '-n', 'minready', '-f', '-'], {
          stdin: yaml(deployment('app', 'app:1', { replicas: 1, spec: { minReadySeconds: 40 } })),
        }),
      );
      ok(await k(['rollout', 'status', 'deploy/app', '-n', 'minready', '--timeout=30s']));
    } finally {
      stop();
    }
    expect(statuses.some((s) => s.readyReplicas === 1 && s.availableReplicas === undefined)).toBe(true);
    expect(podReadyAt).toBeDefined();
    expect(availableAt).toBeDefined();
    expect((availableAt ?? 0) - (podReadyAt ?? 0)).toBeGreaterThanOrEqual(2000);
  });
});

describe('the pod-template-hash', () => {
  it('names ReplicaSets and pods after the template, stably', async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('hash')) }));
    await applyAndWait('hash', deployment('app', 'app:1', { replicas: 1 }), 'app');
    const [rs] = double.objects('replicasets', 'hash');
    const hash = (meta(rs ?? {}).labels as JsonObject)['pod-template-hash'] as string;
    expect(meta(rs ?? {}).name).toBe(`app-${hash}`);
    expect(((rs?.spec as JsonObject).selector as JsonObject).matchLabels).toEqual({
      app: 'app',
      'pod-template-hash': hash,
    });
    const [pod] = double.objects('pods', 'hash');
    expect(meta(pod ?? {}).name).toMatch(new RegExp(`^app-${hash}-[a-z0-9]{5}$`));
    expect(meta(pod ?? {}).ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: `app-${hash}`,
        uid: meta(rs ?? {}).uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(podTemplateHash({ a: 1, b: [1, 2] })).toBe(podTemplateHash({ b: [1, 2], a: 1 }));
    expect(podTemplateHash({ a: 1 })).not.toBe(podTemplateHash({ a: 2 }));
  });
});

describe('endpoints, autoscalers and budgets', () => {
  beforeAll(async () => {
    ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(namespace('net')) }));
    ok(
      await k(['apply', '--server-side', '-n', 'net', '-f', '-'], {
        stdin: yaml(
          deployment('web', 'web:1', { replicas: 2 }),
          deployment('web-stuck', 'web:never', { replicas: 1, labels: { app: 'web' } }),
          service('web', { app: 'web' }),
        ),
      }),
    );
    ok(await k(['rollout', 'status', 'deploy/web', '-n', 'net', '--timeout=30s']));
    await double.settle();
  });

  it('lists Ready pods as addresses and the others as notReadyAddresses, per port', async () => {
    const endpoints = JSON.parse(
      ok(await k(['get', 'endpoints', 'web', '-n', 'net', '-o', 'json'])),
    ) as JsonObject;
    const [subset] = endpoints.subsets as JsonObject[];
    expect((subset?.addresses as JsonObject[]).map((a) => (a.targetRef as JsonObject).name)).toHaveLength(2);
    expect(
      (subset?.notReadyAddresses as JsonObject[]).map((a) => (a.targetRef as JsonObject).name),
    ).toHaveLength(1);
    expect(subset?.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    const slices = JSON.parse(
      ok(
        await k(['get', 'endpointslices', '-n', 'net', '-l', 'kubernetes.io/service-name=web', '-o', 'json']),
      ),
    ) as JsonObject;
    const [slice] = slices.items as JsonObject[];
    const conditions = (slice?.endpoints as JsonObject[])
      .map((e) => (e.conditions as JsonObject).ready)
      .sort();
    expect(conditions).toEqual([false, true, true]);
    expect(ok(await k(['get', 'endpoints', 'web', '-n', 'net']))).toMatch(
      /^NAME\s+ENDPOINTS\s+AGE\nweb\s+10\.244\.\d+\.\d+:8080,10\.244\.\d+\.\d+:8080\s+/,
    );
  });

  it('keeps an autoscaler`s target within its bounds and echoes a status', async () => {
    const hpa = {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'web' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 3,
        maxReplicas: 5,
      },
    };
    ok(await k(['apply', '--server-side', '-n', 'net', '-f', '-'], { stdin: yaml(hpa) }));
    await double.settle();
    ok(await k(['rollout', 'status', 'deploy/web', '-n', 'net', '--timeout=30s']));
    await double.settle();
    const live = JSON.parse(ok(await k(['get', 'hpa', 'web', '-n', 'net', '-o', 'json']))) as JsonObject;
    expect(live.status).toMatchObject({ currentReplicas: 3, desiredReplicas: 3 });
    const table = ok(await k(['get', 'hpa', '-n', 'net']));
    expect(table).toMatch(
      /^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\nweb\s+Deployment\/web\s+<none>\s+3\s+5\s+3\s+/,
    );
  });

  it('computes disruption budget status from the pods it selects', async () => {
    const pdb = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'web' },
      spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } },
    };
    ok(await k(['apply', '--server-side', '-n', 'net', '-f', '-'], { stdin: yaml(pdb) }));
    await double.settle();
    const live = JSON.parse(ok(await k(['get', 'pdb', 'web', '-n', 'net', '-o', 'json']))) as JsonObject;
    expect(live.status).toMatchObject({
      expectedPods: 4,
      currentHealthy: 3,
      desiredHealthy: 2,
      disruptionsAllowed: 1,
    });
  });

  it('stores leases and ingresses as they are given', async () => {
    const lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'deploy-lock' },
      spec: { holderIdentity: 'run-42', leaseDurationSeconds: 300 },
    };
    const ingress = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web' },
      spec: {
        rules: [
          {
            host: 'web.example',
            http: {
              paths: [
                {
                  path: '/',
                  pathType: 'Prefix',
                  backend: { service: { name: 'web', port: { number: 80 } } },
                },
              ],
            },
          },
        ],
      },
    };
    ok(await k(['apply', '--server-side', '-n', 'net', '-f', '-'], { stdin: yaml(lease, ingress) }));
    expect(ok(await k(['get', 'lease', 'deploy-lock', '-n', 'net']))).toMatch(
      /^NAME\s+HOLDER\s+AGE\ndeploy-lock\s+run-42\s+/,
    );
    expect(ok(await k(['get', 'ingress', 'web', '-n', 'net', '-o', 'jsonpath={.spec.rules[0].host}']))).toBe(
      'web.example',
    );
  });
});
