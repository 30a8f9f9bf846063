import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startKubeDouble, type JsonObject, type KubeDouble } from '../src/index.js';
import { builtInType } from '../src/resource-table.js';
import { failed, kubectlFor, namespace, ok, yaml, type Kubectl } from './support/manifests.js';

let double: KubeDouble;
let k: Kubectl;

beforeAll(async () => {
  double = await startKubeDouble({
    timeScale: 20,
    behaviours: [
      { image: 'redis:slow', ready: '4s' },
      { image: 'redis:never', ready: 'never' },
    ],
  });
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
const imageOf = (pod: JsonObject): string =>
  (((pod.spec as JsonObject).containers as JsonObject[])[0]?.image as string | undefined) ?? '';

interface PodEvent {
  readonly event: 'created' | 'ready' | 'deleted';
  readonly pod: string;
  readonly image: string;
}

/** Every creation, readiness and deletion of a namespace's pods, in the order the store saw them. */
function recordPods(ns: string): { events: PodEvent[]; stop: () => void } {
  const podType = builtInType('Pod');
  const events: PodEvent[] = [];
  const stop = double.api.store.subscribe((change) => {
    if (change.resourceType !== podType || meta(change.object).namespace !== ns) return;
    const pod = meta(change.object).name as string;
    const image = imageOf(change.object);
    if (change.type === 'ADDED') events.push({ event: 'created', pod, image });
    else if (change.type === 'DELETED') events.push({ event: 'deleted', pod, image });
    else if (isReady(change.object) && (change.previous === undefined || !isReady(change.previous)))
      events.push({ event: 'ready', pod, image });
  });
  return { events, stop };
}

function redis(
  ns: string,
  options: { replicas?: number; image?: string; spec?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'redis', namespace: ns },
    spec: {
      serviceName: 'redis',
      replicas: options.replicas ?? 3,
      selector: { matchLabels: { app: 'redis' } },
      template: {
        metadata: { labels: { app: 'redis' } },
        spec: {
          containers: [
            {
              name: 'redis',
              image: options.image ?? 'redis:7',
              ports: [{ name: 'redis', containerPort: 6379 }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
      ...(options.spec ?? {}),
    },
  };
}

function headless(ns: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'redis', namespace: ns },
    spec: { clusterIP: 'None', selector: { app: 'redis' }, ports: [{ name: 'redis', port: 6379 }] },
  };
}

async function apply(...documents: Record<string, unknown>[]): Promise<void> {
  ok(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(...documents) }));
}

async function rolloutStatus(ns: string): Promise<string> {
  return ok(await k(['rollout', 'status', 'sts/redis', '-n', ns, '--timeout=60s']));
}

function pods(ns: string): JsonObject[] {
  return double.objects('pods', ns).filter((p) => (meta(p).labels as JsonObject).app === 'redis');
}

describe('StatefulSet', () => {
  it('creates pods in order under OrderedReady, each after the one before is Ready', async () => {
    await apply(namespace('ordered'));
    const recorder = recordPods('ordered');
    await apply(headless('ordered'), redis('ordered', { image: 'redis:slow' }));
    expect(await rolloutStatus('ordered')).toContain(
      'partitioned roll out complete: 3 new pods have been updated...',
    );
    recorder.stop();
    expect(recorder.events.map((e) => `${e.event} ${e.pod}`)).toEqual([
      'created redis-0',
      'ready redis-0',
      'created redis-1',
      'ready redis-1',
      'created redis-2',
      'ready redis-2',
    ]);
  });

  it('creates every pod at once under Parallel', async () => {
    await apply(namespace('parallel'));
    const recorder = recordPods('parallel');
    await apply(redis('parallel', { image: 'redis:slow', spec: { podManagementPolicy: 'Parallel' } }));
    await rolloutStatus('parallel');
    recorder.stop();
    expect(recorder.events.slice(0, 3).map((e) => `${e.event} ${e.pod}`)).toEqual([
      'created redis-0',
      'created redis-1',
      'created redis-2',
    ]);
  });

  it('gives each pod a stable identity: hostname, subdomain, its own claim, Endpoints with hostnames', async () => {
    const ns = 'ordered';
    const [first] = pods(ns).sort((a, b) => (meta(a).name as string).localeCompare(meta(b).name as string));
    const spec = first?.spec as JsonObject;
    expect([spec.hostname, spec.subdomain]).toEqual(['redis-0', 'redis']);
    expect(spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data-redis-0' } }]);
    expect(meta(first ?? {}).labels).toMatchObject({
      app: 'redis',
      'statefulset.kubernetes.io/pod-name': 'redis-0',
      'apps.kubernetes.io/pod-index': '0',
    });
    const claims = double.objects('persistentvolumeclaims', ns);
    expect(claims.map((c) => [meta(c).name, (c.status as JsonObject).phase])).toEqual([
      ['data-redis-0', 'Bound'],
      ['data-redis-1', 'Bound'],
      ['data-redis-2', 'Bound'],
    ]);
    const endpoints = JSON.parse(
      ok(await k(['get', 'endpoints', 'redis', '-n', ns, '-o', 'json'])),
    ) as JsonObject;
    const addresses = ((endpoints.subsets as JsonObject[])[0]?.addresses as JsonObject[]).map(
      (a) => a.hostname,
    );
    expect(addresses.sort()).toEqual(['redis-0', 'redis-1', 'redis-2']);

    // A deleted pod comes back under the same name, with the same claim.
    const uid = meta(first ?? {}).uid;
    ok(await k(['delete', 'pod', 'redis-0', '-n', ns]));
    // The controller has seen the deletion (and written its status) before rollout status reads it.
    await double.settle();
    await rolloutStatus(ns);
    const again = pods(ns).find((p) => meta(p).name === 'redis-0');
    expect(meta(again ?? {}).uid).not.toBe(uid);
    expect((again?.spec as JsonObject).volumes).toEqual(spec.volumes);
  });

  it('rolls an update from the highest ordinal down, one Ready pod at a time', async () => {
    const ns = 'ordered';
    const recorder = recordPods(ns);
    await apply(redis(ns, { image: 'redis:8' }));
    expect(await rolloutStatus(ns)).toContain(
      'partitioned roll out complete: 3 new pods have been updated...',
    );
    recorder.stop();
    expect(recorder.events.map((e) => `${e.event} ${e.pod} ${e.image}`)).toEqual([
      'deleted redis-2 redis:slow',
      'created redis-2 redis:8',
      'ready redis-2 redis:8',
      'deleted redis-1 redis:slow',
      'created redis-1 redis:8',
      'ready redis-1 redis:8',
      'deleted redis-0 redis:slow',
      'created redis-0 redis:8',
      'ready redis-0 redis:8',
    ]);
    const live = JSON.parse(ok(await k(['get', 'sts', 'redis', '-n', ns, '-o', 'json']))) as JsonObject;
    const status = live.status as JsonObject;
    expect(status.currentRevision).toBe(status.updateRevision);
    expect([status.replicas, status.readyReplicas, status.currentReplicas, status.updatedReplicas]).toEqual([
      3, 3, 3, 3,
    ]);
    const revisions = ok(await k(['get', 'controllerrevisions', '-n', ns, '--no-headers']))
      .trim()
      .split('\n');
    expect(revisions).toHaveLength(2);
  });

  it('stops at the partition: pods below it keep the old template', async () => {
    const ns = 'ordered';
    await apply(
      redis(ns, {
        image: 'redis:9',
        spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } },
      }),
    );
    expect(await rolloutStatus(ns)).toContain(
      'partitioned roll out complete: 1 new pods have been updated...',
    );
    expect(Object.fromEntries(pods(ns).map((p) => [meta(p).name, imageOf(p)]))).toEqual({
      'redis-0': 'redis:8',
      'redis-1': 'redis:8',
      'redis-2': 'redis:9',
    });
  });

  it('replaces nothing under OnDelete until a pod is deleted', async () => {
    const ns = 'ordered';
    await apply(redis(ns, { image: 'redis:10', spec: { updateStrategy: { type: 'OnDelete' } } }));
    await double.settle();
    expect(pods(ns).map(imageOf).sort()).toEqual(['redis:8', 'redis:8', 'redis:9']);
    ok(await k(['delete', 'pod', 'redis-1', '-n', ns]));
    await double.settle();
    ok(await k(['wait', '--for=condition=Ready', 'pod/redis-1', '-n', ns, '--timeout=60s']));
    expect(pods(ns).find((p) => meta(p).name === 'redis-1')).toBeDefined();
    expect(imageOf(pods(ns).find((p) => meta(p).name === 'redis-1') ?? {})).toBe('redis:10');
  });

  it('scales down from the highest ordinal and keeps the claims', async () => {
    await apply(namespace('scaling'));
    await apply(redis('scaling'));
    await rolloutStatus('scaling');
    const recorder = recordPods('scaling');
    ok(await k(['scale', 'sts/redis', '-n', 'scaling', '--replicas=1']));
    await rolloutStatus('scaling');
    // rollout status is satisfied once one pod is Ready; the second deletion follows on a later sync.
    await double.settle();
    recorder.stop();
    expect(recorder.events.filter((e) => e.event === 'deleted').map((e) => e.pod)).toEqual([
      'redis-2',
      'redis-1',
    ]);
    expect(double.objects('persistentvolumeclaims', 'scaling')).toHaveLength(3);
  });

  it('reports a rollout that cannot finish, and refuses changes to immutable fields', async () => {
    await apply(namespace('stuck'));
    await apply(redis('stuck', { image: 'redis:never', replicas: 2 }));
    const result = await k(['rollout', 'status', 'sts/redis', '-n', 'stuck', '--timeout=2s']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toContain('Waiting for 2 pods to be ready...');
    // OrderedReady: the second pod never starts while the first is not Ready.
    expect(pods('stuck').map((p) => meta(p).name)).toEqual(['redis-0']);

    const changed = redis('stuck', { image: 'redis:never', replicas: 2, spec: { serviceName: 'other' } });
    expect(failed(await k(['apply', '--server-side', '-f', '-'], { stdin: yaml(changed) }))).toContain(
      "The StatefulSet \"redis\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    const always = redis('stuck', {
      spec: {
        template: {
          metadata: { labels: { app: 'redis' } },
          spec: { restartPolicy: 'Never', containers: [{ name: 'r', image: 'r' }] },
        },
      },
    });
    expect(
      failed(await k(['apply', '--server-side', '--dry-run=server', '-f', '-'], { stdin: yaml(always) })),
    ).toContain('spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"');
  });
});
